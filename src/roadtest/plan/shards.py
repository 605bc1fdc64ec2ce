"""Shards: a deterministic slice of a plan, so several machines can each run one part of a run without talking
to each other (`roadtest run --shard K/N`), and `roadtest merge` can tell afterwards that they covered it once.

A trial belongs to the shard its key hashes to: its id, except for a trial at a load level, whose key is its
model and level. A load level is one stream of traffic (six in flight, 2.5 requests a second): split over
machines it would be several smaller streams, not the level the criterion names, so it runs whole in one shard.
Judges' calls go with the trial they judge and a conversation's turns with their conversation (their ids are
not in the plan: they follow what they belong to).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Any

from roadtest.errors import RoadtestError
from roadtest.plan.trial import Trial

MAX_SHARDS = 1000
_FORM = re.compile(r"\s*(\d{1,4})\s*/\s*(\d{1,4})\s*")


def shard_key(trial_id: str, model: str, level: str | None) -> str:
    """What decides a planned trial's shard: its id, or for a load trial its model and level (see the module)."""
    return trial_id if level is None else f"load\x00{model}\x00{level}"


def shard_of(key: str, count: int) -> int:
    """The shard (1-based) of `count` that `key` belongs to: the same on every machine and Python."""
    return int.from_bytes(hashlib.sha256(key.encode("utf-8")).digest()[:8], "big") % count + 1


@dataclass(frozen=True)
class Shard:
    """Shard `index` of `count` (1-based): `roadtest run --shard 2/3` is Shard(2, 3)."""

    index: int
    count: int

    def __post_init__(self) -> None:
        if not (1 <= self.count <= MAX_SHARDS and 1 <= self.index <= self.count):
            raise RoadtestError(f"--shard {self.index}/{self.count}: the shard must be K/N with 1 <= K <= N <= "
                                f"{MAX_SHARDS}", "e.g. --shard 2/3 runs the second of three shards")

    @classmethod
    def parse(cls, text: str) -> "Shard":
        """'K/N' (e.g. '2/3'); RoadtestError (exit 2) with an example otherwise."""
        match = _FORM.fullmatch(text or "")
        if match is None:
            raise RoadtestError(f"--shard {text!r}: not of the form K/N",
                                "e.g. --shard 2/3 runs the second of three shards (K from SLURM_ARRAY_TASK_ID or "
                                "JOB_COMPLETION_INDEX + 1)")
        return cls(int(match.group(1)), int(match.group(2)))

    @classmethod
    def from_record(cls, record: Any) -> "Shard":
        """From a manifest's `shard` record (anything with index and count)."""
        return cls(int(record.index), int(record.count))

    @property
    def label(self) -> str:
        return f"{self.index}/{self.count}"

    @property
    def suffix(self) -> str:
        """The end of the shard's run id: `s2of3`."""
        return f"s{self.index}of{self.count}"

    def owns_key(self, key: str) -> bool:
        return shard_of(key, self.count) == self.index

    def owns(self, trial: Trial) -> bool:
        """Is this planned trial (or conversation entry) in this shard?"""
        return self.owns_key(shard_key(trial.id, trial.model, trial.level))

    def owns_line(self, data: dict[str, Any]) -> bool:
        """The same for a plan.jsonl line as read (a dict with id, model and maybe level)."""
        return self.owns_key(shard_key(data["id"], data["model"], data.get("level")))
