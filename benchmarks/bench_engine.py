"""Orchestration speed: roadtest's engine next to a plain aiohttp client and a plain httpx client.

    .venv/bin/python benchmarks/bench_engine.py [--trials 2000]

Same stub server (separate process), same requests, concurrency 1, 16 and 64, instant and with a 50 ms delay.
roadtest runs its real engine: rate limiter, retries, per-call timeout, record building, and an archive
sink that appends and flushes every record to trials.jsonl.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from pathlib import Path

import aiohttp
import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import stub  # noqa: E402

from roadtest.engine import EngineOptions, ResponseCache, execute  # noqa: E402
from roadtest.plan import Trial  # noqa: E402
from roadtest.spec import ModelSpec  # noqa: E402


def bodies(n: int) -> list[dict]:
    return [{"model": "stub", "messages": [{"role": "user", "content": f"What is {i} plus 1?"}],
             "temperature": 0.0, "max_tokens": 4} for i in range(n)]


async def plain_aiohttp(url: str, n: int, c: int) -> float:
    sem = asyncio.Semaphore(c)
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=c)) as session:
        async def one(body):
            async with sem, session.post(url + "/chat/completions", json=body) as r:
                await r.json()
        t = time.perf_counter()
        await asyncio.gather(*(one(b) for b in bodies(n)))
        return n / (time.perf_counter() - t)


async def plain_httpx(url: str, n: int, c: int) -> float:
    sem = asyncio.Semaphore(c)
    async with httpx.AsyncClient(limits=httpx.Limits(max_connections=c, max_keepalive_connections=c)) as client:
        async def one(body):
            async with sem:
                (await client.post(url + "/chat/completions", json=body)).json()
        t = time.perf_counter()
        await asyncio.gather(*(one(b) for b in bodies(n)))
        return n / (time.perf_counter() - t)


class FileSink:
    def __init__(self, path: Path) -> None:
        self.f = path.open("a")

    def write(self, record):
        self.f.write(json.dumps(record, sort_keys=True) + "\n")
        self.f.flush()

    def endpoint(self, model_id, identity):
        pass


class NoEvents:
    def model_started(self, label, total): pass
    def trial_finished(self, record): pass
    def model_finished(self, label): pass


async def roadtest_engine(url: str, n: int, c: int, cached: bool = False) -> float:
    """The engine as `roadtest run --no-cache` runs it, or (cached=True) with the response cache on, as
    `roadtest run` does by default: every call misses the fresh cache and is stored in it (SQLite)."""
    spec = ModelSpec(id="stub", provider="openai", base_url=url, max_concurrency=c)
    trials = (Trial(f"stub/bench/base/r0/i{i}", "stub", "bench", f"i{i}", 0, "base", "chat/completions", b, {})
              for i, b in enumerate(bodies(n)))
    with tempfile.TemporaryDirectory() as tmp:
        sink = FileSink(Path(tmp) / "trials.jsonl")
        cache = ResponseCache(Path(tmp) / "cache.sqlite") if cached else None
        t = time.perf_counter()
        await execute(trials, {"stub": spec}, Path(tmp), sink, NoEvents(), EngineOptions(cache=cache))
        rate = n / (time.perf_counter() - t)
        if cache is not None:
            cache.close()
        return rate


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--trials", type=int, default=2000)
    args = parser.parse_args()
    print(f"{'delay':>6} {'conc':>5} {'aiohttp':>9} {'httpx':>9} {'roadtest':>9} {'rt/aiohttp':>11} {'rt+cache':>9} "
          f"{'/aiohttp':>9}   (requests/s, {args.trials} requests)")
    for delay in (0.0, 0.05):
        with stub(delay) as url:
            for c in (1, 16, 64):
                n = args.trials if delay == 0 or c > 1 else max(200, args.trials // 10)  # 2000 x 50 ms serially = 100 s
                a = asyncio.run(plain_aiohttp(url, n, c))
                h = asyncio.run(plain_httpx(url, n, c))
                r = asyncio.run(roadtest_engine(url, n, c))
                rc = asyncio.run(roadtest_engine(url, n, c, cached=True))
                print(f"{delay * 1000:>4.0f}ms {c:>5} {a:>9.0f} {h:>9.0f} {r:>9.0f} {r / a:>11.2f} {rc:>9.0f} "
                      f"{rc / a:>9.2f}", flush=True)


if __name__ == "__main__":
    main()
