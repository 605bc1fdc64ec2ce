"""The plain client bench_throughput.py compares roadtest with: python aiohttp_client.py URL N IN_FLIGHT.

N chat completions to URL (the stub's /v1), IN_FLIGHT at a time, each JSON body encoded and each answer parsed,
nothing else: no retries, no records, no archive.
"""

from __future__ import annotations

import asyncio
import sys

import aiohttp


def body(i: int) -> dict:
    return {"model": "stub", "messages": [{"role": "user", "content": f"What is {i} plus 1?"}],
            "temperature": 0.0, "top_p": 1.0, "max_tokens": 4}


async def send_all(url: str, n: int, in_flight: int) -> None:
    sem = asyncio.Semaphore(in_flight)
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=in_flight)) as session:
        async def one(i: int) -> None:
            async with sem, session.post(url + "/chat/completions", json=body(i)) as r:
                await r.json()
        await asyncio.gather(*(one(i) for i in range(n)))


if __name__ == "__main__":
    asyncio.run(send_all(sys.argv[1], int(sys.argv[2]), int(sys.argv[3])))
