"""The local provider starts a real llama.cpp server and always stops it: normal end, Ctrl-C, SIGKILL."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from roadtest.providers import open_provider
from roadtest.spec import ModelSpec
from tests.conftest import TINY_ITEMS, write_workspace


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie is dead for our purposes
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(")")[-1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def wait_dead(pid: int, timeout: float = 15.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not alive(pid):
            return True
        time.sleep(0.1)
    return False


def servers_with_alias(alias: str) -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                cmd = (entry / "cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            if b"llama_cpp.server" in cmd and alias.encode() in cmd and alive(int(entry.name)):
                pids.append(int(entry.name))
    return pids


SPEC = ModelSpec(id="local-lifecycle", provider="local", gguf="smollm2-135m-instruct")


@pytest.mark.model
def test_server_answers_then_stops(tmp_path):
    async def body():
        async with open_provider(SPEC, tmp_path) as provider:
            pid = provider.server.process.pid
            assert provider.server.base_url.startswith("http://127.0.0.1:")
            reply = await provider.send("chat/completions", {
                "model": "local-lifecycle", "messages": [{"role": "user", "content": "Say hi"}],
                "max_tokens": 3, "temperature": 0})
            assert reply.status == 200 and reply.body["choices"][0]["message"]["content"] is not None
            models = await provider.models()
            assert models[0]["id"] == "local-lifecycle"
            return pid

    pid = asyncio.run(body())
    assert wait_dead(pid)


@pytest.mark.model
def test_ctrl_c_inside_the_run_stops_the_server(tmp_path):
    seen = {}

    async def body():
        async with open_provider(SPEC, tmp_path) as provider:
            seen["pid"] = provider.server.process.pid
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        asyncio.run(body())
    assert wait_dead(seen["pid"])


def long_workspace(tmp_path: Path, alias: str) -> Path:
    items = [dict(item, id=f"{item['id']}-{n}") for n in range(40) for item in TINY_ITEMS]
    ws = write_workspace(tmp_path / "ws", url=None, items=items)
    cfg = ws / "roadtest.yaml"
    cfg.write_text(cfg.read_text().replace("id: smollm2", f"id: {alias}"))
    return ws


def start_run(ws: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "roadtest", "run", "-w", str(ws), "-q"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def wait_for_trials(ws: Path, proc: subprocess.Popen, n: int = 3, timeout: float = 120) -> Path:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.stderr.read()
        for trials in (ws / "runs").glob("*/trials.jsonl"):
            if trials.read_text().count("\n") >= n:
                return trials.parent
        time.sleep(0.2)
    pytest.fail("the run produced no trials")


@pytest.mark.model
def test_sigint_mid_run_keeps_finished_trials_and_stops_the_server(tmp_path):
    alias = "sigint-lifecycle"
    ws = long_workspace(tmp_path, alias)
    proc = start_run(ws)
    run_dir = wait_for_trials(ws, proc)
    servers = servers_with_alias(alias)
    assert len(servers) == 1
    proc.send_signal(signal.SIGINT)
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 3, stderr
    assert "interrupted" in stderr and "Traceback" not in stderr
    assert wait_dead(servers[0])
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert manifest["status"] == "interrupted"
    lines = (run_dir / "trials.jsonl").read_text().splitlines()
    assert 3 <= len(lines) < 200
    assert all(json.loads(l)["response"] for l in lines)   # every kept line is a whole record


@pytest.mark.model
def test_sigkill_of_roadtest_takes_the_server_down(tmp_path):
    alias = "sigkill-lifecycle"
    ws = long_workspace(tmp_path, alias)
    proc = start_run(ws)
    wait_for_trials(ws, proc)
    servers = servers_with_alias(alias)
    assert len(servers) == 1
    proc.kill()
    proc.wait()
    assert wait_dead(servers[0])


def test_unreachable_endpoint_gives_error_rows_not_a_crash(tmp_path):
    """An endpoint that never answers is an endpoint failing: error rows, then a stop (exit 3) once its failures
    pass max_error_rate of its planned calls, with a resumable archive and the reason."""
    ws = write_workspace(tmp_path / "ws", url="http://127.0.0.1:9/v1")
    proc = subprocess.run([sys.executable, "-m", "roadtest", "run", "-w", str(ws), "-q", "--json", "--retry-base", "0.01"],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 3, proc.stderr
    assert "endpoint failing: smollm2: 2 of 5 calls failed" in proc.stderr and "--resume" in proc.stderr
    assert "Traceback" not in proc.stderr
    run_dir = next((ws / "runs").iterdir())
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert manifest["status"].startswith("stopped: endpoint failing")
    kinds = {json.loads(l)["error"]["kind"] for l in (run_dir / "trials.jsonl").read_text().splitlines()}
    assert kinds == {"connection"}


def test_a_tools_server_is_started_with_the_function_calling_chat_format(tmp_path):
    """What a scenario with tools gets from a local model: the chat format on the command line and in the
    endpoint's identity (so in the cache key and the manifest); without tools, neither."""
    from roadtest.providers.local import LocalServer

    tools = LocalServer(SPEC, tmp_path, chat_format="chatml-function-calling")
    plain = LocalServer(SPEC, tmp_path)
    command = tools.command()
    assert command[command.index("--chat_format") + 1] == "chatml-function-calling"
    assert "--chat_format" not in plain.command()
    assert tools.identity()["chat_format"] == "chatml-function-calling" and "chat_format" not in plain.identity()
    assert {k: v for k, v in tools.identity().items() if k != "chat_format"} == plain.identity()
