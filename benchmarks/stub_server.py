"""An instant (or delayed) OpenAI-compatible stub server for benchmarks: python stub_server.py PORT [DELAY_S].

It also keeps a tally of the completions it answered, for the whole-process benchmarks: POST /v1/_watch with
{"pid": N} starts a new tally for client process N; GET /v1/_stats returns it: the wall-clock time (time.time())
of the first and last request, their count, and the client's CPU time (user + system, from /proc) when its first
request arrived.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time

from aiohttp import web

CHAT = json.dumps({"id": "stub", "object": "chat.completion", "model": "stub",
                   "choices": [{"index": 0, "message": {"role": "assistant", "content": "4"}, "finish_reason": "stop"}],
                   "usage": {"prompt_tokens": 12, "completion_tokens": 1, "total_tokens": 13}}).encode()
COMPLETION = json.dumps({"id": "stub", "object": "text_completion", "model": "stub",
                         "choices": [{"index": 0, "text": " 4", "finish_reason": "stop"}],
                         "usage": {"prompt_tokens": 12, "completion_tokens": 1, "total_tokens": 13}}).encode()


def cpu_seconds(pid: int | None) -> float | None:
    """User + system CPU time of process `pid` so far (Linux /proc), or None when it cannot be read."""
    if pid is None:
        return None
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def app(delay: float) -> web.Application:
    tally: dict = {"pid": None, "first": None, "last": None, "count": 0, "cpu_at_first": None}

    def arrived() -> None:
        now = time.time()
        if tally["first"] is None:
            tally["first"], tally["cpu_at_first"] = now, cpu_seconds(tally["pid"])
        tally["last"] = now
        tally["count"] += 1

    async def answer(request: web.Request, body: bytes) -> web.Response:
        arrived()
        await request.read()
        if delay:
            await asyncio.sleep(delay)
        return web.Response(body=body, content_type="application/json")

    async def chat(request):
        return await answer(request, CHAT)

    async def completion(request):
        return await answer(request, COMPLETION)

    async def models(request):
        return web.json_response({"data": [{"id": "stub", "object": "model"}]})

    async def watch(request):
        tally.update(pid=(await request.json()).get("pid"), first=None, last=None, count=0, cpu_at_first=None)
        return web.json_response(tally)

    async def stats(request):
        return web.json_response(tally)

    application = web.Application()
    application.router.add_post("/v1/chat/completions", chat)
    application.router.add_post("/v1/completions", completion)
    application.router.add_get("/v1/models", models)
    application.router.add_post("/v1/_watch", watch)
    application.router.add_get("/v1/_stats", stats)
    return application


if __name__ == "__main__":
    port, delay = int(sys.argv[1]), float(sys.argv[2]) if len(sys.argv) > 2 else 0.0
    web.run_app(app(delay), host="127.0.0.1", port=port, print=None, access_log=None, backlog=1024)
