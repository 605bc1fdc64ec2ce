"""Typed archive records (roadtest.archive.schema): every fixture archive's files read into them and dumped back
are the same bytes; an archive is read and migrated once when opened; a record of the wrong type is refused with
the located error of any damaged record."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from roadtest.archive import migrations, run_dir
from roadtest.archive.canonical import canonical_json
from roadtest.archive.run_dir import RunArchive
from roadtest.archive.schema import Manifest, Metrics, PlannedTrial, ScoreRow, Verdicts, row
from roadtest.archive.records import ConversationEntry
from roadtest.archive.trials_file import jsonl
from roadtest.errors import AlteredArchive, RoadtestError

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "archives"
NAMES = ["v1-tiny", "v2-tiny"]


def copy_of(tmp_path: Path, name: str) -> Path:
    target = tmp_path / "runs" / name
    shutil.copytree(FIXTURES / name, target)
    return target


def lines(path: Path) -> list[bytes]:
    return path.read_bytes().splitlines(keepends=True)


@pytest.mark.parametrize("name", NAMES)
def test_manifest_metrics_and_verdicts_round_trip_byte_for_byte(name):
    folder = FIXTURES / name
    for file, model in (("manifest.json", Manifest), ("metrics.json", Metrics), ("verdicts.json", Verdicts)):
        raw = (folder / file).read_bytes()
        typed = model.model_validate(json.loads(raw))
        assert (canonical_json(typed.dump(), indent=2) + "\n").encode("utf-8") == raw, file


@pytest.mark.parametrize("name", NAMES)
def test_trial_plan_and_score_rows_round_trip_byte_for_byte(name):
    folder = FIXTURES / name
    for line in lines(folder / "trials.jsonl"):
        assert jsonl(row(json.loads(line)).dump()) == line
    for line in lines(folder / "plan.jsonl"):
        data = json.loads(line)
        model = ConversationEntry if data.get("kind") == "conversation" else PlannedTrial
        assert jsonl(model.model_validate(data).model_dump(exclude_unset=True)) == line
    for line in lines(folder / "scores.jsonl"):
        assert (canonical_json(ScoreRow.model_validate(json.loads(line)).dump()) + "\n").encode("utf-8") == line


def test_a_whole_number_stays_whole_and_a_float_stays_a_float():
    record = json.loads(lines(FIXTURES / "v2-tiny" / "trials.jsonl")[0])
    for latency in (12, 12.0):
        assert jsonl(row({**record, "latency_s": latency}).dump()) == jsonl({**record, "latency_s": latency})


def test_the_archive_holds_its_migrated_typed_manifest_and_config(tmp_path):
    archive = RunArchive(copy_of(tmp_path, "v1-tiny"))
    manifest = archive.manifest_record()
    assert manifest.schema_version == migrations.SCHEMA_VERSION and manifest.migrations == ["0001_endpoint_identity"]
    assert manifest.endpoints["smollm2"]["served"]["model"] == ["smollm2"]
    assert archive.config().selection.models == ["smollm2"] and archive.config().max_error_rate == 0.2
    assert list(archive.specs().scenarios) == ["tiny-math"] and archive.specs().models["smollm2"].n_ctx == 2048
    assert [r.trial_id for r in archive.rows()] == [r["trial_id"] for r in archive.trials()]


def test_the_old_dict_manifest_is_a_copy_the_caller_may_change(tmp_path):
    archive = RunArchive(copy_of(tmp_path, "v2-tiny"))
    first = archive.manifest()
    first["config"]["selection"]["models"].append("someone")
    first["status"] = "edited"
    assert archive.manifest()["status"] == "complete"
    assert archive.manifest()["config"]["selection"]["models"] == ["smollm2"]


def test_replaying_the_v1_fixture_reads_and_migrates_its_manifest_once(tmp_path, monkeypatch):
    from roadtest import api

    folder = copy_of(tmp_path, "v1-tiny")
    counts = {"reads": 0, "migrations": 0}
    name, version, migrate = migrations.MIGRATIONS[0]

    def counted_migration(manifest, path):
        counts["migrations"] += 1
        return migrate(manifest, path)

    real_read = RunArchive._read_manifest

    def counted_read(self, path):
        counts["reads"] += 1
        return real_read(self, path)

    monkeypatch.setattr(migrations, "MIGRATIONS", [(name, version, counted_migration)])
    monkeypatch.setattr(RunArchive, "_read_manifest", counted_read)
    monkeypatch.setattr(run_dir, "RACY_NS", 0)   # the fixture's copy is not edited under us: trust its stat
    _, outcome = api.replay(RunArchive(folder), None)
    assert set(outcome) == {"scores.jsonl", "metrics.json", "verdicts.json"}
    assert counts == {"reads": 1, "migrations": 1}
    assert json.loads((folder / "manifest.json").read_text())["migrations"] == ["0001_endpoint_identity"]


def test_a_manifest_edited_in_place_right_after_it_was_read_is_read_again(tmp_path):
    """Same size, within the file system's time granularity: its stat cannot tell, its bytes can."""
    folder = copy_of(tmp_path, "v2-tiny")
    archive = RunArchive(folder)
    assert archive.manifest_record().status == "complete"
    path = folder / "manifest.json"
    path.write_bytes(path.read_bytes().replace(b'"status": "complete"', b'"status": "completE"'))
    assert archive.manifest_record().status == "completE"


def test_a_manifest_field_of_the_wrong_type_is_refused_naming_it(tmp_path):
    folder = copy_of(tmp_path, "v2-tiny")
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["command"] = "roadtest run"
    (folder / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(RoadtestError) as caught:
        RunArchive(folder).manifest()
    assert caught.value.exit_code == 2
    assert caught.value.message.startswith(f"{folder / 'manifest.json'}: not a roadtest run manifest: command: ")
    result = CliRunner().invoke(_app(), ["replay", str(folder), "-w", str(tmp_path)])
    assert result.exit_code == 2 and "not a roadtest run manifest: command: " in result.output, result.output


def test_a_newer_schema_version_keeps_its_clear_error(tmp_path):
    folder = copy_of(tmp_path, "v2-tiny")
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["schema_version"] = migrations.SCHEMA_VERSION + 1
    manifest["config"]["models"] = "shaped differently"       # the version is refused before the shape is read
    (folder / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(RoadtestError) as caught:
        RunArchive(folder).manifest_record()
    assert "newer than this roadtest knows" in caught.value.message or "config.models" in caught.value.message


def test_a_trial_row_of_the_wrong_type_is_a_located_error(tmp_path):
    import hashlib

    folder = copy_of(tmp_path, "v2-tiny")
    rows = lines(folder / "trials.jsonl")
    bad = json.loads(rows[1])
    bad["latency_s"] = "fast"
    rows[1] = jsonl(bad)
    (folder / "trials.jsonl").write_bytes(b"".join(rows))
    manifest = json.loads((folder / "manifest.json").read_text())    # hashes recorded again, as a forger would
    manifest["files"]["trials.jsonl"] = hashlib.sha256(b"".join(rows)).hexdigest()
    (folder / "manifest.json").write_text(json.dumps(manifest))
    archive = RunArchive(folder)
    with pytest.raises(AlteredArchive) as caught:
        list(archive.rows())
    assert caught.value.message.startswith("trials.jsonl:2: not a readable record (latency_s: ")
    with pytest.raises(AlteredArchive) as caught:
        archive.altered_sources()
    assert "trials.jsonl:2: not a readable record (latency_s: " in caught.value.message
    result = CliRunner().invoke(_app(), ["replay", str(folder), "-w", str(tmp_path)])
    assert result.exit_code == 1 and "trials.jsonl:2: not a readable record (latency_s: " in result.output


def _app():
    from roadtest.cli import app

    return app
