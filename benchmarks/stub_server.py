"""An instant (or delayed) OpenAI-compatible stub server for benchmarks: python stub_server.py PORT [DELAY_S]."""

from __future__ import annotations

import asyncio
import json
import sys

from aiohttp import web

CHAT = json.dumps({"id": "stub", "object": "chat.completion", "model": "stub",
                   "choices": [{"index": 0, "message": {"role": "assistant", "content": "4"}, "finish_reason": "stop"}],
                   "usage": {"prompt_tokens": 12, "completion_tokens": 1, "total_tokens": 13}}).encode()
COMPLETION = json.dumps({"id": "stub", "object": "text_completion", "model": "stub",
                         "choices": [{"index": 0, "text": " 4", "finish_reason": "stop"}],
                         "usage": {"prompt_tokens": 12, "completion_tokens": 1, "total_tokens": 13}}).encode()


def app(delay: float) -> web.Application:
    async def answer(request: web.Request, body: bytes) -> web.Response:
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

    application = web.Application()
    application.router.add_post("/v1/chat/completions", chat)
    application.router.add_post("/v1/completions", completion)
    application.router.add_get("/v1/models", models)
    return application


if __name__ == "__main__":
    port, delay = int(sys.argv[1]), float(sys.argv[2]) if len(sys.argv) > 2 else 0.0
    web.run_app(app(delay), host="127.0.0.1", port=port, print=None, access_log=None, backlog=1024)
