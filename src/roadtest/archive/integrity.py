"""What an archive must be before anything is read from it, resumed from it, or derived from it.

A received archive is never trusted: the manifest must be a run manifest (an object with the keys and
types roadtest wrote), every plan line a valid trial, every trial record readable, and the records must
be what the plan explains (no trial that was not planned, no trial answered twice).
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import IO, TYPE_CHECKING, Any, Callable, Iterator, NamedTuple, TypeVar

from roadtest.archive.records import record_kind
from roadtest.errors import AlteredArchive, RoadtestError
from roadtest.spec import Hypothesis, ModelSpec, Scenario

if TYPE_CHECKING:
    from roadtest.archive.schema import Manifest, ResolvedConfig

MAX_MANIFEST_BYTES = 64 << 20
"""A manifest holds settings, not data: anything larger is not one (and would be read into memory)."""
SHA256 = re.compile(r"^[0-9a-f]{64}$")
SHOWN = 5
"""Problems of one kind named one by one; the rest are counted."""


# -- the manifest -----------------------------------------------------------------------------------------
def parse_manifest(raw: bytes, path: Path) -> dict[str, Any]:
    """The manifest's JSON, checked for the shape every command relies on (RoadtestError when it is not)."""
    try:
        data = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise _bad(path, f"not UTF-8 text (byte {exc.start})") from None
    except json.JSONDecodeError as exc:
        raise RoadtestError(f"{path}:{exc.lineno}: not valid JSON ({exc.msg})",
                            "the archive is damaged: get a fresh copy of it from where it came from") from None
    except RecursionError:
        raise _bad(path, "JSON nested too deeply") from None
    problem = manifest_problem(data)
    if problem:
        raise _bad(path, problem)
    return data


def _bad(path: Path, what: str) -> RoadtestError:
    return RoadtestError(f"{path}: not a roadtest run manifest: {what}",
                         "the archive is damaged or was not written by roadtest: get a fresh copy of it from where "
                         "it came from")


_TOP = {"run_id": str, "status": str, "config": dict, "fingerprint": str, "endpoints": dict, "files": dict}
_CONFIG = {"models": list, "scenarios": dict, "hypotheses": dict, "selection": dict}


def manifest_problem(data: Any) -> str | None:
    """What makes `data` not a run manifest, or None."""
    if not isinstance(data, dict):
        return f"{json_kind(data)}, not an object"
    version = data.get("schema_version", 1)
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        return f"schema_version is {version!r}, not a positive whole number"
    for key, kind in _TOP.items():
        if not isinstance(data.get(key), kind):
            return _type_problem(key, data.get(key), kind, key in data)
    for key in ("started_at", "finished_at", "rerun_of"):
        if data.get(key) is not None and not isinstance(data[key], str):
            return _type_problem(key, data[key], str, True)
    for name, digest in data["files"].items():
        if not _plain_name(name):
            return f"files names {name!r}, which is not a file of the run folder"
        if not isinstance(digest, str) or not SHA256.match(digest):
            return f"files[{name!r}] is {_short(digest)}, not a sha256"
    if not isinstance(data.get("datasets", {}), dict):
        return _type_problem("datasets", data["datasets"], dict, True)
    for rel, digest in data.get("datasets", {}).items():
        if PurePosixPath(rel).is_absolute() or ".." in PurePosixPath(rel).parts or not isinstance(digest, str):
            return f"datasets names {rel!r}, which is not a path inside a workspace"
    if not all(isinstance(v, dict) for v in data["endpoints"].values()):
        return "endpoints holds an entry that is not an object"
    for key, fields in (("plan", ("trials", "bytes")), ("trials", ("records", "bytes"))):
        problem = _record_problem(key, data.get(key), fields)
        if problem:
            return problem
    if not isinstance(data.get("resumes", []), list) or not all(isinstance(r, dict) for r in data.get("resumes", [])):
        return "resumes is not a list of objects"
    return _config_problem(data["config"])


def _record_problem(key: str, record: Any, counts: tuple[str, ...]) -> str | None:
    if record is None:
        return None
    if not isinstance(record, dict) or not SHA256.match(str(record.get("sha256"))):
        return f"{key} is {str(record)[:80]!r}, not a record of a file's sha256 and size"
    for name in counts:
        if not isinstance(record.get(name), int) or isinstance(record[name], bool) or record[name] < 0:
            return f"{key}.{name} is {record.get(name)!r}, not a count"
    return None


def _config_problem(config: dict[str, Any]) -> str | None:
    for key, kind in _CONFIG.items():
        if not isinstance(config.get(key), kind):
            return _type_problem(f"config.{key}", config.get(key), kind, key in config)
    sel = config["selection"]
    models = config["models"] + (config.get("judge_models") or [])
    if not all(isinstance(m, dict) and isinstance(m.get("id"), str) for m in models):
        return "config.models holds an entry without an id"
    for key, known in (("models", None), ("scenarios", config["scenarios"]), ("hypotheses", config["hypotheses"])):
        chosen = sel.get(key)
        if not isinstance(chosen, list) or not all(isinstance(c, str) for c in chosen):
            return f"config.selection.{key} is not a list of names"
        missing = [c for c in chosen if known is not None and c not in known]
        if missing:
            return f"config.selection.{key} names {missing[0]!r}, which config does not describe"
    for key in ("scenarios", "hypotheses"):
        for name, entry in config[key].items():
            if not isinstance(entry, dict) or not isinstance(entry.get("spec"), dict):
                return f"config.{key}.{name} has no spec"
    return None


def _type_problem(key: str, value: Any, kind: type, present: bool) -> str:
    words: dict[type, str] = {dict: "an object", list: "a list", str: "a string"}
    wanted = words[kind]
    return f"{key} is missing" if not present else f"{key} is {json_kind(value)}, not {wanted}"


def json_kind(value: Any) -> str:
    """What a JSON value is, in words: 'a number', 'a list', 'null'."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true or false"
    return {int: "a number", float: "a number", str: "a string", list: "a list", dict: "an object"}.get(
        type(value), type(value).__name__)


def _plain_name(name: str) -> bool:
    return bool(name) and name not in (".", "..") and "/" not in name and "\\" not in name and "\0" not in name


class Specs(NamedTuple):
    """An archive's scenarios, models and hypotheses, built as the spec objects every stage uses."""

    scenarios: dict[str, Scenario]
    """scenario id -> Scenario."""
    models: dict[str, ModelSpec]
    """model id -> ModelSpec: the models under test, then judges and simulated customers."""
    hypotheses: list[Hypothesis]
    """The selected hypotheses, in order."""


def typed_manifest(data: dict[str, Any], path: Path) -> "Manifest":
    """The checked (and migrated) manifest JSON as a typed Manifest; RoadtestError naming the first field that is
    not of its type."""
    from pydantic import ValidationError

    from roadtest.archive.schema import Manifest
    from roadtest.archive.schema.base import first_problem

    try:
        return Manifest.model_validate(data)
    except ValidationError as exc:
        raise _bad(path, first_problem(exc)) from None
    except RecursionError:
        raise _bad(path, "JSON nested too deeply") from None


def build_specs(config: "ResolvedConfig", path: Path, written_by: Any) -> Specs:
    """The archived scenarios, models and hypotheses as specs; they must still be valid (RoadtestError naming the
    first that is not): every command builds them from the manifest."""
    return Specs(
        _build_spec("scenarios", lambda: {sid: Scenario.model_validate(e.spec) for sid, e in config.scenarios.items()},
                    path, written_by),
        _build_spec("models", lambda: {m.id: ModelSpec.model_validate(m.dump()) for m in config.all_models()},
                    path, written_by),
        _build_spec("hypotheses", lambda: [Hypothesis.model_validate(config.hypotheses[h].spec)
                                           for h in config.selection.hypotheses], path, written_by))


_Built = TypeVar("_Built")


def _build_spec(what: str, build: Callable[[], _Built], path: Path, written_by: Any) -> _Built:
    """One part of build_specs, its failure a RoadtestError naming config.<what>."""
    from pydantic import ValidationError

    try:
        return build()
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ()))
        raise RoadtestError(
            f"{path}: config.{what}: {exc.title} {where}: {first.get('msg')}",
            f"the archive was written by roadtest {written_by or '(unknown version)'}, which may describe it "
            "differently from this roadtest; or it was edited (`roadtest verify` says so)") from None
    except (KeyError, TypeError, AttributeError) as exc:
        raise _bad(path, f"config.{what} cannot be read ({type(exc).__name__}: {exc})") from None


# -- plan.jsonl and trials.jsonl ----------------------------------------------------------------------------
_TRIAL = {"id": str, "model": str, "scenario": str, "item": str, "repeat": int, "variant": str, "endpoint": str,
          "body": dict, "reference": dict}
_TRIAL_OPTIONAL = {"kind", "target", "purpose", "level", "dialogue"}
ROLES = ("assistant", "user")
ENDPOINTS = ("chat/completions", "completions")


def trial_problem(data: Any, models: set[str], scenarios: set[str]) -> str | None:
    """Why a plan line is not a trial of this run, or None."""
    if not isinstance(data, dict):
        return f"{json_kind(data)}, not a trial"
    for key, kind in _TRIAL.items():
        value = data.get(key)
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            return f"{key} is missing" if key not in data else f"{key} is {_short(value)}"
    extra = set(data) - set(_TRIAL) - _TRIAL_OPTIONAL
    if extra:
        return f"unknown field {sorted(extra)[0]!r}"
    if record_kind(data) not in ("model", "conversation"):
        return f"kind is {data.get('kind')!r}: a plan holds only calls to the models under test and conversations"
    if data.get("kind") == "conversation":
        from roadtest.archive.records import conversation_problem

        problem = conversation_problem(data)
        if problem:
            return f"not a conversation entry ({problem})"
    elif "dialogue" in data:
        return "a dialogue on a trial that is not a conversation"
    if data.get("level") is not None and not isinstance(data["level"], str):
        return f"level is {data['level']!r}"
    if data["endpoint"] not in ENDPOINTS:
        return f"endpoint is {data['endpoint'][:60]!r}, not one roadtest calls"
    if data["model"] not in models:
        return f"model {data['model'][:60]!r} is not one of the run's models"
    if data["scenario"] not in scenarios:
        return f"scenario {data['scenario'][:60]!r} is not one of the run's scenarios"
    return None


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:59] + "…"


def request_digest(model: Any, scenario: Any, item: Any, repeat: Any, variant: Any, level: Any, endpoint: Any,
                   body: Any) -> bytes:
    """What identifies a planned call: the record of that call must carry the same."""
    text = json.dumps([model, scenario, item, repeat, variant, level, endpoint, body], sort_keys=True)
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).digest()


def jsonl_lines(f: IO[bytes]) -> Iterator[tuple[int, bytes, bool]]:
    """(line number, raw line, whether it is complete) for every line of a JSON-lines file."""
    for n, raw in enumerate(f, 1):
        yield n, raw, raw.endswith(b"\n")


def decode_line(raw: bytes) -> tuple[Any, str | None]:
    """(value, None), or (None, why the line is not JSON)."""
    try:
        return json.loads(raw.decode("utf-8")), None
    except UnicodeDecodeError as exc:
        return None, f"not UTF-8 (byte {exc.start})"
    except json.JSONDecodeError as exc:
        return None, f"not JSON ({exc.msg}, column {exc.colno})"
    except RecursionError:
        return None, "JSON nested too deeply"


def record_problem(data: Any, typed: bool = False) -> str | None:
    """Why a trials.jsonl line is not a trial record, or None. With `typed`, every field is checked against its
    type too (roadtest.archive.schema.trials): once per command, by the archive's check (see checks.py)."""
    if not isinstance(data, dict):
        return f"{json_kind(data)}, not a trial record"
    for key in ("trial_id", "model", "scenario"):
        if not isinstance(data.get(key), str):
            return f"{key} is missing" if key not in data else f"{key} is {_short(data[key])}"
    if not isinstance(data.get("request"), dict):
        return "request is missing"
    if data.get("kind") == "turn":
        from roadtest.archive.records import turn_problem

        problem = turn_problem(data)
        if problem:
            return f"not a conversation turn ({problem})"
    if typed:
        from roadtest.archive.schema.trials import row_problem

        return row_problem(data)
    return None


def unreadable(name: str, n: int, why: str) -> AlteredArchive:
    return AlteredArchive(
        f"{name}:{n}: not a readable record ({why})",
        "roadtest writes whole records only, so this line was damaged or edited after it was written (only a "
        "half-written last line, from a killed run, is expected and dropped); restore the file from another copy "
        "of the archive; `roadtest verify` names everything else that changed")


@dataclass
class TrialsCheck:
    """Feed it every trial record in order; `problems` says which records the plan does not explain."""

    planned: dict[str, bytes]
    """planned trial id -> request_digest of the planned call."""
    resends: int
    """How many times a failed call may have been sent again (resumes with --retry-errors)."""
    conversations: dict[str, tuple[str, str | None]] = field(default_factory=dict)
    """planned conversation id -> (its model, its simulated customer's model): turns are explained by these."""
    owned: set[str] | None = None
    """A shard's run: the planned ids in its slice; a record of another shard's trial is foreign, and only these
    must have a record when the run is complete (None: the whole plan)."""
    shard: Any = None
    """A shard's run: its manifest record (index, count), for the messages."""
    seen: dict[str, tuple[int, bool, int]] = field(default_factory=dict)
    """trial id -> (records so far, whether the last one is an error, line of the first)."""
    found: dict[str, list[str]] = field(default_factory=dict)
    talked: set[str] = field(default_factory=set)
    """Planned conversations with at least one turn record."""

    def add(self, n: int, record: dict[str, Any]) -> None:
        tid = record["trial_id"]
        problem = self._foreign(record)
        if problem:
            self._note("foreign", f"{n}: trial {tid[:120]} {problem}")
        if record.get("kind") == "turn" and isinstance(record.get("conversation"), str):
            self.talked.add(record["conversation"])
        count, failed, first = self.seen.get(tid, (0, True, n))
        if count and not failed:
            self._note("twice", f"{n}: trial {tid[:120]} was answered already (line {first}): sent twice, "
                                "as two writers at once would")
        elif count and count > self.resends:
            self._note("twice", f"{n}: trial {tid[:120]} has {count + 1} records, more than "
                                f"{self.resends} resume{'' if self.resends == 1 else 's'} with --retry-errors explain")
        self.seen[tid] = (count + 1, bool(record.get("error")), first)

    def _foreign(self, record: dict[str, Any]) -> str | None:
        return self._foreign_call(record) or self._other_shard(record)

    def _other_shard(self, record: dict[str, Any]) -> str | None:
        """A shard's run holds only its own slice: a record of another shard's trial was not sent by it."""
        if self.owned is None:
            return None
        kind = record_kind(record)
        owner = record.get("conversation") if kind == "turn" else record.get("target") if kind == "judge" \
            else record["trial_id"]
        if owner in self.owned:
            return None
        this = f"{self.shard.index}/{self.shard.count}" if self.shard is not None else "this one"
        return f"belongs to another shard than this run's ({this}): a shard sends only its own slice of the plan"

    def _foreign_call(self, record: dict[str, Any]) -> str | None:
        tid = record["trial_id"]
        if record.get("kind") == "turn":
            return self._foreign_turn(record)
        if record_kind(record) == "judge":
            target = record.get("target")
            if not isinstance(target, str) or target not in self.planned:
                return f"judges a trial ({str(target)[:120]}) that is not in plan.jsonl"
            if tid != f"judge:{record.get('purpose')}/{record['model']}/{target}":
                return "is not named as roadtest names a judge's call"
            return None
        if tid not in self.planned:
            return "is not in plan.jsonl"
        request = record["request"]
        digest = request_digest(record["model"], record["scenario"], record.get("item"), record.get("repeat"),
                                record.get("variant"), record.get("level"), request.get("endpoint"),
                                request.get("body"))
        if digest != self.planned[tid]:
            return "does not carry the request plan.jsonl planned for it"
        return None

    def _foreign_turn(self, record: dict[str, Any]) -> str | None:
        """A conversation's call: of a planned conversation, named as roadtest names its k-th call, by the model
        its role calls (its requests depend on the answers before them, so they are not in the plan)."""
        conv, turn, role = record.get("conversation"), record.get("turn"), record.get("role")
        if not isinstance(conv, str) or conv not in self.conversations:
            return f"belongs to a conversation ({str(conv)[:120]}) that is not in plan.jsonl"
        if role not in ROLES or not isinstance(turn, int) or isinstance(turn, bool) or turn < 0 \
                or record["trial_id"] != f"{conv}#{turn}:{role}":
            return "is not named as roadtest names a conversation's turn"
        model, simulator = self.conversations[conv]
        if record["model"] != (model if role == "assistant" else simulator):
            return f"is a {role} turn answered by {record['model'][:60]!r}, not by the conversation's {role}"
        return None

    def _note(self, kind: str, text: str) -> None:
        self.found.setdefault(kind, []).append(text)

    def problems(self, complete: bool) -> list[str]:
        out = []
        for kind, texts in self.found.items():
            out += [f"trials.jsonl:{t}" for t in texts[:SHOWN]]
            if len(texts) > SHOWN:
                out.append(f"trials.jsonl: {len(texts) - SHOWN:,} more like these")
        if complete:
            missing = [tid for tid in self.planned if tid not in self.seen and tid not in self.conversations
                       and (self.owned is None or tid in self.owned)]
            if missing:
                planned = len(self.planned) if self.owned is None else len(self.owned - set(self.conversations))
                out.append(f"trials.jsonl: {len(missing):,} of {planned:,} planned trials have no record, "
                           f"yet the run is marked complete (e.g. {missing[0][:120]})")
            silent = [cid for cid in self.conversations if cid not in self.talked
                      and (self.owned is None or cid in self.owned)]
            if silent:
                out.append(f"trials.jsonl: {len(silent):,} planned conversation{'s' if len(silent) > 1 else ''} "
                           f"{'have' if len(silent) > 1 else 'has'} no turn, yet the run is marked complete "
                           f"(e.g. {silent[0][:120]})")
        return out
