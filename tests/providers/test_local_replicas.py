"""`replicas: N` on a local model: N llama.cpp servers started at once, the CPU cores shared out, every one stopped
(also when one fails to start), and a tools server (chat_format) started the same way. The servers here are
stand-ins that record what was asked of them; the model lane starts real ones (tests/engine/test_replicas.py)."""

from __future__ import annotations

import asyncio

import pytest

import roadtest.providers.local as local
from roadtest.errors import RunError
from roadtest.providers import open_replicas
from roadtest.spec import ModelSpec


class FakeServer:
    """Records start (with or without waiting), wait_ready and stop, as LocalServer's callers make them."""

    made: list["FakeServer"] = []
    fail_ready: set[int] = set()

    def __init__(self, spec, root, chat_format=None, threads=None) -> None:
        self.spec, self.chat_format, self.threads = spec, chat_format, threads
        self.number = len(FakeServer.made)
        self.events: list = []
        self.base_url = f"http://127.0.0.1:{9100 + self.number}/v1"
        FakeServer.made.append(self)

    def start(self, wait: bool = True) -> str:
        self.events.append(("start", wait))
        return self.base_url

    def wait_ready(self) -> None:
        self.events.append("ready")
        if self.number in FakeServer.fail_ready:
            raise RunError(f"server {self.number} exited", "")

    def stop(self) -> None:
        self.events.append("stop")

    def identity(self) -> dict:
        return {"provider": "local", "gguf": self.spec.gguf, "model": self.spec.request_model}


@pytest.fixture
def fake_servers(monkeypatch):
    FakeServer.made, FakeServer.fail_ready = [], set()
    monkeypatch.setattr(local, "LocalServer", FakeServer)
    monkeypatch.setattr(local.os, "cpu_count", lambda: 8)
    return FakeServer


SPEC = ModelSpec(id="m", provider="local", gguf="smollm2-135m-instruct", replicas=3)


def test_local_replicas_start_together_share_the_cores_and_are_all_stopped(tmp_path, fake_servers):
    async def go():
        async with open_replicas(SPEC, tmp_path, chat_format="chatml-function-calling") as providers:
            assert [p.base_url for p in providers] == [s.base_url for s in fake_servers.made]
            assert all(s.events == [("start", False), "ready"] for s in fake_servers.made)
    asyncio.run(go())
    servers = fake_servers.made
    assert len(servers) == 3 and {s.threads for s in servers} == {8 // 3}
    assert {s.chat_format for s in servers} == {"chatml-function-calling"}
    # every process is started before any is waited for: they load the model at the same time
    assert all(s.events == [("start", False), "ready", "stop"] for s in servers)


def test_one_replica_failing_to_start_stops_every_one(tmp_path, fake_servers):
    fake_servers.fail_ready = {1}

    async def go():
        async with open_replicas(SPEC, tmp_path):
            pytest.fail("no provider is handed out when a replica did not start")
    with pytest.raises(RunError, match="server 1 exited"):
        asyncio.run(go())
    assert [s.events[-1] for s in fake_servers.made] == ["stop", "stop", "stop"]


def test_a_replica_server_computes_with_its_share_of_the_cores(tmp_path):
    spec = ModelSpec(id="m", provider="local", gguf="x.gguf", replicas=2)
    (tmp_path / "x.gguf").write_bytes(b"GGUF")
    command = local.LocalServer(spec, tmp_path, threads=3).command()
    assert command[command.index("--n_threads") + 1] == "3"
    assert local.replica_threads(16) >= 1
