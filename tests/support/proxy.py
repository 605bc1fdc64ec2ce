"""A small fault-injecting HTTP proxy for tests: sits in front of the real llama.cpp server and, scripted per
request, answers 429/500/503, drops the connection, stalls, or sends malformed or truncated bodies.

Hostile endpoints too: a body of many megabytes (`huge`, `huge_declared`), a 200 answer that echoes the API key
the client sent (`echo_key`), a /models listing that echoes it (`models_echo_key=True`).

Without an upstream (`upstream=None`) it answers every call itself with a canned completion (the answer
callable's text, else "4"): for engine tests that need an endpoint but no model.

It also counts requests in flight (for concurrency limits) and logs every request it saw.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import socket
import struct
import threading
import time
from dataclasses import dataclass, field
from typing import Callable

import httpx

Script = Callable[[int, dict], str]
"""(index of the POST, its JSON body) -> action: pass | 429 | 500 | 503 | 400 | 401 | reset | slow | malformed |
truncated | huge | huge_declared | echo_key

401 answers as hosted APIs do for a wrong key: its message quotes the key the client sent. huge sends a 200 body of
huge_bytes without a content-length (read until the connection closes); huge_declared announces its length.
echo_key answers normally, with the client's key put into the answer text, a field, a dictionary key and the
system_fingerprint."""

CHUNK = 64 * 1024


@dataclass
class Seen:
    index: int
    path: str
    body: dict
    action: str
    at: float

    @property
    def digest(self) -> str:
        return hashlib.sha256(json.dumps(self.body, sort_keys=True).encode()).hexdigest()


@dataclass
class FaultProxy:
    upstream: str | None
    """The server behind the proxy; None: the proxy answers every call itself (canned)."""
    script: Script = lambda i, body: "pass"  # noqa: E731
    delay_s: float = 0.0
    slow_s: float = 5.0
    retry_after: str = "1"
    fingerprint: str | None = None
    """When set, every JSON response gains this system_fingerprint (what hosted APIs report)."""
    answer: Callable[[dict], str | dict | None] | None = None
    """When set and it returns text for a request, the model's answer is replaced by that text; a dict replaces the
    whole chat message (content and tool_calls: a scripted tool call)."""
    huge_bytes: int = 50 * 1024 * 1024
    """Size of the body the huge actions send."""
    models_echo_key: bool = False
    """When set, the /models listing's entries quote the key the client sent (an owned_by field and more)."""
    seen: list[Seen] = field(default_factory=list)
    gets: list[str] = field(default_factory=list)
    """Paths of the GET requests (the /models listing)."""
    in_flight: int = 0
    max_in_flight: int = 0

    def start(self) -> str:
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()
        self._ready.wait(10)
        return f"http://127.0.0.1:{self.port}/v1"

    def stop(self) -> None:
        self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(10)

    def _serve(self) -> None:
        self._loop = asyncio.new_event_loop()
        self._loop.run_until_complete(self._main())

    async def _main(self) -> None:
        self._stop = asyncio.Event()
        self._client = httpx.AsyncClient(timeout=60)
        server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = server.sockets[0].getsockname()[1]
        self._ready.set()
        await self._stop.wait()
        server.close()
        await self._client.aclose()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
        except (asyncio.IncompleteReadError, ConnectionError):
            writer.close()
            return
        lines = head.decode("latin-1").split("\r\n")
        method, path, _ = lines[0].split(" ", 2)
        headers = {k.strip().lower(): v.strip() for k, v in (l.split(":", 1) for l in lines[1:] if ":" in l)}
        raw = await reader.readexactly(int(headers.get("content-length", 0)))
        if method != "POST":
            self.gets.append(path)
            status, content = await self._get(path)
            if self.models_echo_key and status == 200 and path.rstrip("/").endswith("/models"):
                key = _client_key(headers)
                data = json.loads(content)
                for entry in data.get("data", []):
                    entry.update(owned_by=f"org of {key}", meta={"authorization": f"Bearer {key}", key: True})
                content = json.dumps(data).encode()
            await self._respond(writer, status, content)
            return
        body = json.loads(raw)
        index = len(self.seen)
        action = self.script(index, body)
        self.seen.append(Seen(index, path, body, action, time.monotonic()))
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            await self._act(action, path, raw, writer, headers)
        finally:
            self.in_flight -= 1

    async def _get(self, path: str) -> tuple[int, bytes]:
        if self.upstream is None:
            return 200, json.dumps({"object": "list", "data": [{"id": "smollm2", "object": "model"}]}).encode()
        upstream = await self._client.get(self.upstream + path)
        return upstream.status_code, upstream.content

    async def _post(self, path: str, raw: bytes) -> tuple[int, bytes]:
        if self.upstream is None:
            return 200, canned(path, json.loads(raw), len(self.seen))
        upstream = await self._client.post(self.upstream + path, content=raw,
                                           headers={"content-type": "application/json"})
        return upstream.status_code, upstream.content

    async def _huge(self, writer: asyncio.StreamWriter, declared: bool) -> None:
        """A 200 body of huge_bytes, written chunk by chunk (the proxy never holds it in memory)."""
        head = b'{"choices": [{"message": {"role": "assistant", "content": "'
        tail = b'"}}]}'
        filler = b"a" * CHUNK
        length = f"content-length: {self.huge_bytes}\r\n" if declared else ""
        try:
            writer.write(f"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n{length}"
                         "connection: close\r\n\r\n".encode() + head)
            left = self.huge_bytes - len(head) - len(tail)
            while left > 0:
                writer.write(filler[:min(left, CHUNK)])
                left -= CHUNK
                await writer.drain()
            writer.write(tail)
            await writer.drain()
        except ConnectionError:
            pass
        finally:
            writer.close()

    async def _act(self, action: str, path: str, raw: bytes, writer: asyncio.StreamWriter, headers: dict) -> None:
        if self.delay_s:
            await asyncio.sleep(self.delay_s)
        if action in ("huge", "huge_declared"):
            await self._huge(writer, declared=action == "huge_declared")
            return
        if action == "401":
            key = _client_key(headers)
            payload = json.dumps({"error": {"message": f"Incorrect API key provided: {key}.", "code": "invalid_api_key",
                                            "echo": {"authorization": f"Bearer {key}"}}}).encode()
            await self._respond(writer, 401, payload)
            return
        if action in ("429", "500", "503", "400"):
            extra = {"retry-after": self.retry_after} if action == "429" else {}
            payload = json.dumps({"error": {"message": f"injected {action}", "type": "test"}}).encode()
            await self._respond(writer, int(action), payload, extra)
            return
        if action == "reset":
            sock = writer.get_extra_info("socket")
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))  # RST, not FIN
            writer.transport.abort()
            return
        if action == "slow":
            await asyncio.sleep(self.slow_s)
        status, content = await self._post(path, raw)
        if action == "malformed":
            await self._respond(writer, 200, content[: len(content) // 2] + b"}}garbage")
        elif action == "truncated":
            await self._respond(writer, 200, content[: len(content) // 2], length=len(content))
        else:
            if self.fingerprint and status == 200:
                content = json.dumps({**json.loads(content), "system_fingerprint": self.fingerprint}).encode()
            text = self.answer(json.loads(raw)) if self.answer else None
            if text is not None and status == 200:
                data = json.loads(content)
                _set_answer(data, text)
                content = json.dumps(data).encode()
            if action == "echo_key" and status == 200:
                key = _client_key(headers)
                data = json.loads(content)
                choice = data["choices"][0]
                _set_answer(data, f"{(choice.get('message') or {}).get('content', choice.get('text', ''))} {key}")
                data.update(system_fingerprint=key, echo={"authorization": f"Bearer {key}", key: "as a field name"})
                content = json.dumps(data).encode()
            await self._respond(writer, status, content)

    async def _respond(self, writer, status: int, body: bytes, extra: dict | None = None,
                       length: int | None = None) -> None:
        headers = {"content-type": "application/json", "content-length": str(length or len(body)),
                   "connection": "close", **(extra or {})}
        head = f"HTTP/1.1 {status} X\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n"
        try:
            writer.write(head.encode() + body)
            await writer.drain()
        except ConnectionError:
            pass
        finally:
            writer.close()


def _client_key(headers: dict) -> str:
    return headers.get("authorization", "").removeprefix("Bearer ")


def _set_answer(data: dict, text) -> None:
    """The answer's text, or (a dict) the whole chat message: {"content": ..., "tool_calls": [...]}."""
    choice = data["choices"][0]
    if isinstance(text, dict):
        choice["message"] = {"role": "assistant", **text}
        if text.get("tool_calls"):
            choice["finish_reason"] = "tool_calls"
    elif "message" in choice:
        choice["message"]["content"] = text
    else:
        choice["text"] = text


def canned(path: str, body: dict, index: int, text: str = "4") -> bytes:
    """A completion as an OpenAI-compatible server writes it (what the proxy answers with no upstream)."""
    choice = {"index": 0, "finish_reason": "stop"}
    if path.rstrip("/").endswith("chat/completions"):
        choice["message"] = {"role": "assistant", "content": text}
    else:
        choice["text"] = text
    return json.dumps({"id": f"stub-{index}", "object": "chat.completion", "created": 0,
                       "model": body.get("model", "stub"), "choices": [choice],
                       "usage": {"prompt_tokens": 12, "completion_tokens": 1, "total_tokens": 13}}).encode()
