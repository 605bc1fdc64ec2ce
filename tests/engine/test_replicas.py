"""Replicas: one model served by several endpoints. The router (least calls in flight, a cap per replica, out of
rotation after failures in a row, back after a probe), the engine against several stub servers (both answer, the
cap holds on each, one stopped mid-run costs no error row, rows name their replica), and what the manifest, the
load record, the report and `diff` say about replicas."""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from roadtest.cli import app
from roadtest.compare import drift
from roadtest.engine import EngineOptions, ResponseCache, RetryPolicy, execute
from roadtest.engine.replicas import Replicas
from roadtest.engine.served import endpoint_entry, record_served, replica_drift
from roadtest.plan import Trial
from roadtest.plan.trial import group_key
from roadtest.spec import ModelSpec
from tests.conftest import write_workspace

runner = CliRunner()


# -- the router ------------------------------------------------------------------------------------------------

def _router(n: int = 2, cap: int = 1, probe=None, **options) -> Replicas:
    async def never(replica) -> bool:
        return False

    return Replicas([f"p{i}" for i in range(n)], cap, probe=probe or never, **options)


def test_each_call_goes_to_the_replica_with_the_fewest_calls_in_flight():
    async def go():
        r = _router(3, cap=10)
        picked = [(await r.acquire()).index for _ in range(4)]
        assert picked == [0, 1, 2, 0]               # ties: the one sent the fewest, then the lowest index
        r.done(r.replicas[1], False)
        r.done(r.replicas[2], False)
        assert (await r.acquire()).index == 1       # 1 and 2 are idle, 1 was sent as many and comes first
        assert [x.in_flight for x in r.replicas] == [2, 1, 0]
        assert (await r.acquire()).index == 2
    asyncio.run(go())


def test_outside_a_level_a_replica_takes_at_most_its_cap_and_a_caller_waits_for_a_slot():
    async def go():
        r = _router(2, cap=1)
        first, second = await r.acquire(), await r.acquire()
        assert {first.index, second.index} == {0, 1}
        waiting = asyncio.create_task(r.acquire())
        await asyncio.sleep(0.01)
        assert not waiting.done()                   # both replicas are at their cap
        r.done(second, False)
        got = await asyncio.wait_for(waiting, 5)
        assert got is second and [x.in_flight for x in r.replicas] == [1, 1]
        # inside a load level there is no cap: the level is the model's whole traffic
        extra = [await r.acquire(capped=False) for _ in range(4)]
        assert sorted(x.index for x in extra) == [0, 0, 1, 1] and [x.in_flight for x in r.replicas] == [3, 3]
    asyncio.run(go())


def test_a_replica_failing_three_times_in_a_row_is_taken_out_of_rotation():
    async def go():
        r = _router(2, cap=10)
        bad = r.replicas[1]
        for failed in (True, True, False, True, True):   # an answer (even a 400) breaks the run of failures
            bad.in_flight += 1
            r.done(bad, failed)
        assert bad.in_rotation and bad.failures == 2
        bad.in_flight += 1
        r.done(bad, True)
        assert not bad.in_rotation and bad.taken_out == 1
        assert {(await r.acquire()).index for _ in range(5)} == {0}   # every call now goes to replica 1
        await r.aclose()
    asyncio.run(go())


def test_a_replica_out_of_rotation_is_probed_until_it_answers_and_put_back():
    probes = []

    async def probe(replica) -> bool:
        probes.append(replica.index)
        return len(probes) >= 2                     # the first probe fails, the second answers

    async def go():
        r = _router(2, cap=10, probe=probe, first_pause_s=0.001, longest_pause_s=0.002)
        for _ in range(3):
            r.replicas[0].in_flight += 1
            r.done(r.replicas[0], True)
        assert not r.replicas[0].in_rotation
        for _ in range(500):                        # a bound, not a timing claim
            if r.replicas[0].in_rotation:
                break
            await asyncio.sleep(0.01)
        assert r.replicas[0].in_rotation and r.replicas[0].failures == 0
        assert probes == [0, 0]
        assert (await r.acquire()).index == 0       # back: it has the fewest in flight again
        await r.aclose()
    asyncio.run(go())


def test_with_every_replica_out_calls_go_to_all_of_them_and_an_answer_puts_one_back():
    async def go():
        r = _router(2, cap=10)
        for replica in r.replicas:
            for _ in range(3):
                replica.in_flight += 1
                r.done(replica, True)
        assert not any(x.in_rotation for x in r.replicas)
        used = [await r.acquire() for _ in range(4)]
        assert sorted(x.index for x in used) == [0, 0, 1, 1]   # a total outage reaches the error-rate stop
        r.done(used[1], False)                                  # replica 2 answered: it is back
        assert r.replicas[1].in_rotation and not r.replicas[0].in_rotation
        assert {(await r.acquire()).index for _ in range(3)} == {1}
        await r.aclose()
        assert not r._probes
    asyncio.run(go())


# -- the engine against several stub servers -------------------------------------------------------------------

class Sink:
    def __init__(self, after=None) -> None:
        self.records: list[dict] = []
        self.endpoints: dict[str, dict] = {}
        self.after = after

    def write(self, record: dict) -> None:
        self.records.append(record)
        if self.after is not None:
            self.after(len(self.records))

    def endpoint(self, model_id: str, identity: dict) -> None:
        self.endpoints[model_id] = identity


class Quiet:
    def model_started(self, label, total) -> None: ...

    def trial_finished(self, record) -> None: ...

    def model_finished(self, label) -> None: ...


def model(urls, **settings) -> ModelSpec:
    return ModelSpec(id="m", provider="openai", base_url=urls, model="smollm2",
                     **{"timeout_s": 5, "max_retries": 4, **settings})


def trials(n: int, level: str | None = None) -> list[Trial]:
    variant = f"load:{level}" if level else "base"
    return [Trial(id=f"m/s/{variant}/r0/i{i}", model="m", scenario="s", item=f"i{i}", repeat=0, variant=variant,
                  endpoint="chat/completions", level=level,
                  body={"model": "smollm2", "messages": [{"role": "user", "content": f"question {i}"}],
                        "max_tokens": 4}, reference={})
            for i in range(n)]


def engine(spec: ModelSpec, planned: list[Trial], root: Path, sink: Sink | None = None, **options) -> Sink:
    sink = sink if sink is not None else Sink()
    totals: dict[tuple, int] = {}
    for t in planned:
        totals[group_key(t)] = totals.get(group_key(t), 0) + 1
    opts = EngineOptions(retry=RetryPolicy(base_s=0.01, jitter=0.0), **options)
    asyncio.run(execute(planned, {"m": spec}, root, sink, Quiet(), opts, totals))
    assert opts.stopped is None
    return sink


def test_both_replicas_answer_the_cap_holds_on_each_and_rows_name_their_replica(tmp_path, stub):
    (p1, u1), (p2, u2) = stub(delay_s=0.1), stub(delay_s=0.1)
    sink = engine(model([u1, u2], max_concurrency=2), trials(16), tmp_path)
    rows = sink.records
    assert len(rows) == 16 and all(r["error"] is None for r in rows)
    assert len(p1.seen) > 0 and len(p2.seen) > 0 and len(p1.seen) + len(p2.seen) == 16
    assert p1.max_in_flight <= 2 and p2.max_in_flight <= 2          # max_concurrency holds on each replica
    assert p1.max_in_flight + p2.max_in_flight > 2                    # ... not on the model as a whole
    assert [sum(r["replica"] == n for r in rows) for n in (1, 2)] == [len(p1.seen), len(p2.seen)]
    entry = sink.endpoints["m"]
    assert entry["base_url"] == [u1, u2]
    assert [(r["replica"], r["base_url"], r["models_entry"]["id"]) for r in entry["replicas"]] == [
        (1, u1, "smollm2"), (2, u2, "smollm2")]


def test_each_replica_is_a_cold_server_its_first_calls_are_warm_up(tmp_path, stub):
    (p1, u1), (p2, u2) = stub(delay_s=0.05), stub(delay_s=0.05)
    sink = engine(model([u1, u2], max_concurrency=1, warmup=2), trials(12), tmp_path)
    for number in (1, 2):
        mine = [r for r in sink.records if r["replica"] == number]
        assert len(mine) > 2
        assert [bool(r.get("warmup")) for r in mine] == [True, True] + [False] * (len(mine) - 2)


def test_a_load_level_is_the_models_whole_traffic_without_a_cap_per_replica(tmp_path, stub):
    (p1, u1), (p2, u2) = stub(delay_s=0.15), stub(delay_s=0.15)
    sink = engine(model([u1, u2], max_concurrency=1, warmup=0), trials(16, level="c4"), tmp_path)
    assert len(sink.records) == 16 and all(r["error"] is None for r in sink.records)
    assert max(p1.max_in_flight, p2.max_in_flight) >= 2               # past max_concurrency: the level decides
    assert p1.max_in_flight + p2.max_in_flight <= 4
    assert {r["replica"] for r in sink.records} == {1, 2}


def test_a_replica_stopped_mid_run_is_taken_out_and_every_trial_is_answered(tmp_path, stub):
    (p1, u1), (p2, u2) = stub(delay_s=0.05), stub(delay_s=0.05)
    stopped = []

    def stop_the_second(done: int) -> None:
        if done == 8 and not stopped:
            stopped.append(len(p2.seen))
            p2.stop()

    sink = engine(model([u1, u2], max_concurrency=2, timeout_s=0.5), trials(80), tmp_path, Sink(stop_the_second))
    rows = sink.records
    assert stopped and len(rows) == 80
    assert all(r["error"] is None for r in rows)                      # no error row: replica 1 answered instead
    assert len(p1.seen) + stopped[0] >= 80 and len(p2.seen) == stopped[0]
    retried = sum(r["attempts"] - 1 for r in rows)
    assert retried >= 3                                               # its failures, up to taking it out
    assert {r["replica"] for r in rows[-20:]} == {1}                  # then only replica 1 answers
    assert {r["replica"] for r in rows[:8]} == {1, 2}


def test_a_replica_answering_only_errors_is_taken_out_and_the_others_answer(tmp_path, stub):
    (p1, u1), (p2, u2) = stub(delay_s=0.02), stub(lambda i, body: "500")
    sink = engine(model([u1, u2], max_concurrency=1), trials(12), tmp_path)
    assert all(r["error"] is None and r["replica"] == 1 for r in sink.records)
    assert len(p1.seen) == 12
    assert 3 <= len(p2.seen) < 12                                     # three failures in a row, then out


def test_a_replica_listing_its_model_but_failing_its_calls_costs_no_error_row(tmp_path, stub):
    # it answers GET /models (so its probes succeed) and 503 to every call: it must not attract the calls
    (p1, u1), (p2, u2) = stub(delay_s=0.05), stub(lambda i, body: "503")
    sink = engine(model([u1, u2], max_concurrency=2, max_retries=4), trials(40), tmp_path)
    assert len(sink.records) == 40
    assert all(r["error"] is None and r["replica"] == 1 for r in sink.records)   # retries went to replica 1
    assert len(p2.seen) <= 8                      # three in a row, then one call at a time after each probe


def test_a_retry_goes_to_another_replica_than_the_one_that_failed():
    async def go():
        r = _router(2, cap=4)
        first = await r.acquire()
        r.done(first, True)
        assert (await r.acquire(avoid=first)) is not first
        only = _router(1, cap=4)
        alone = await only.acquire()
        only.done(alone, True)
        assert (await only.acquire(avoid=alone)) is alone          # no other: the same one, never a wait
    asyncio.run(go())


def test_a_replica_put_back_by_a_probe_is_on_probation_until_a_call_succeeds():
    async def go():
        async def yes(replica) -> bool:
            return True

        r = _router(2, cap=4, probe=yes, first_pause_s=0.01)
        bad = r.replicas[1]
        bad.in_flight = 3
        for _ in range(3):
            r.done(bad, True)
        assert not bad.in_rotation and bad.pause == 0.01
        await asyncio.sleep(0.05)
        assert bad.in_rotation and bad.probation
        taken = [await r.acquire(), await r.acquire(), await r.acquire()]
        assert sum(t is bad for t in taken) == 1                    # one call at a time on probation
        r.done(bad, True)                                          # its first failure takes it out again
        assert not bad.in_rotation and bad.pause == 0.02            # and it rests longer
        await asyncio.sleep(0.05)
        assert bad.in_rotation and bad.probation
        picked = next(t for t in [await r.acquire() for _ in range(3)] if t is bad)
        r.done(picked, False)                                      # an answer: healthy again
        assert not bad.probation and bad.pause == 0.0
        await r.aclose()
    asyncio.run(go())


def test_every_replica_failing_ends_in_the_error_rate_stop(tmp_path, stub):
    (p1, u1), (p2, u2) = stub(lambda i, body: "500"), stub(lambda i, body: "500")
    planned = trials(20)
    opts = EngineOptions(retry=RetryPolicy(base_s=0.01, jitter=0.0), max_error_rate=0.2)
    sink = Sink()
    asyncio.run(execute(planned, {"m": model([u1, u2], max_retries=1)}, tmp_path, sink, Quiet(), opts,
                        {group_key(planned[0]): 20}))
    assert opts.stopped == "endpoint failing: m: 5 of 20 calls failed"   # an outage, never a worse model
    assert all(r["error"]["kind"] == "http_500" and r["replica"] in (1, 2) for r in sink.records)
    assert len(p1.seen) > 0 and len(p2.seen) > 0                       # with both out, both were still called


def test_a_replica_is_probed_by_its_models_listing(stub):
    from roadtest.providers import OpenAIProvider

    p, url = stub()

    async def alive(base: str) -> bool:
        provider = OpenAIProvider(model(base), base)
        try:
            return await provider.alive()
        finally:
            await provider.aclose()

    assert asyncio.run(alive(url)) is True and p.gets == ["/v1/models"]
    p.stop()
    assert asyncio.run(alive(url)) is False


def test_one_endpoint_writes_what_it_always_wrote(tmp_path, stub):
    p, url = stub()
    for urls in (url, [url]):
        sink = engine(model(urls), trials(3), tmp_path)
        assert all("replica" not in r for r in sink.records)
        assert set(sink.endpoints["m"]) == {"provider", "base_url", "model", "api_key_env", "models_entry"}
        assert sink.endpoints["m"]["base_url"] == url


def test_an_answer_from_the_cache_names_no_replica(tmp_path, stub):
    (p1, u1), (p2, u2) = stub(), stub()
    spec = model([u1, u2])
    cache = ResponseCache(tmp_path / "cache.sqlite")
    first = engine(spec, trials(4), tmp_path, cache=cache)
    cache.flush()
    again = engine(spec, trials(4), tmp_path, cache=cache)
    cache.close()
    assert all(r.get("replica") in (1, 2) for r in first.records)
    assert all(r["cache"]["hit"] and "replica" not in r for r in again.records)
    assert len(p1.seen) + len(p2.seen) == 4


# -- what the manifest, the report and diff say ----------------------------------------------------------------

def _replicas(*served) -> dict:
    entry = endpoint_entry([{"provider": "openai", "base_url": f"http://h{i}/v1", "model": "m"}
                            for i in range(len(served))],
                           [{"id": "m", "object": "model", "created": 100 + i} for i in range(len(served))])
    record_served(entry, {i + 1: s for i, s in enumerate(served)})
    return entry


def test_a_replica_answering_under_another_model_name_is_flagged():
    same = {"model": ["llama-3-8b"], "system_fingerprint": []}
    entry = _replicas(same, same, {"model": ["llama-3-70b"], "system_fingerprint": []})
    assert entry["base_url"] == ["http://h0/v1", "http://h1/v1", "http://h2/v1"]
    assert [r["served"] for r in entry["replicas"]][0] == same
    [sentence] = entry["replica_drift"]
    assert sentence.startswith("replica 3 (http://h2/v1) answers under a different model name than replica 1")
    assert "llama-3-70b against llama-3-8b" in sentence
    # the same model everywhere (the /models entries differ only in `created`): nothing to flag
    assert "replica_drift" not in _replicas(same, same)
    # a replica that answered nothing says nothing about what it serves
    assert "replica_drift" not in _replicas(same, {"model": [], "system_fingerprint": []})


def test_a_replica_listing_another_model_is_flagged():
    replicas = [{"replica": 1, "models_entry": {"id": "m", "owned_by": "team-a"}},
                {"replica": 2, "models_entry": {"id": "m", "owned_by": "team-b"}},
                {"replica": 3, "models_entry": None}]
    [sentence] = replica_drift(replicas)
    assert sentence.startswith("replica 2 lists a different /models entry than replica 1")   # a tie: the lowest


def test_diff_names_a_replica_drift_one_run_has_and_the_other_has_not():
    same = {"model": ["x"], "system_fingerprint": []}
    clean, drifted = _replicas(same, same), _replicas(same, {"model": ["y"], "system_fingerprint": []})
    ma = {"run_id": "A", "endpoints": {"m": clean}}
    mb = {"run_id": "B", "endpoints": {"m": drifted}}
    found = drift(ma, mb)
    assert any(line.startswith("m: in B, replica 2 (http://h1/v1) answers under a different model name")
               for line in found)
    assert not any("in A" in line for line in found)
    assert drift(mb, {**mb, "run_id": "C"}) == []                       # the same finding in both: no change


def test_a_plain_model_dumps_exactly_as_before_replicas_existed():
    before = {"id", "provider", "gguf", "base_url", "api_key_env", "model", "mode", "price", "max_concurrency",
              "timeout_s", "max_retries", "rpm", "tpm", "n_ctx", "warmup", "max_response_bytes", "tool_results",
              "logprobs"}
    for spec in (ModelSpec(id="a", provider="openai", base_url="http://x/v1"),
                 ModelSpec(id="b", provider="local", gguf="smollm2-135m-instruct"),
                 ModelSpec(id="c", provider="local", gguf="smollm2-135m-instruct", replicas=1)):
        dumped = spec.model_dump(mode="json")
        assert set(dumped) == before
        assert ModelSpec.model_validate(dumped) == spec.model_copy(update={})
    assert ModelSpec(id="a", provider="openai", base_url="http://x/v1").model_dump(mode="json")["base_url"] == \
        "http://x/v1"
    two = ModelSpec(id="d", provider="local", gguf="smollm2-135m-instruct", replicas=2)
    assert two.model_dump(mode="json")["replicas"] == 2 and two.replica_count == 2
    assert ModelSpec.model_validate(two.model_dump(mode="json")) == two
    listed = ModelSpec(id="e", provider="openai", base_url=["http://x/v1", "http://y/v1"])
    assert listed.base_urls == ["http://x/v1", "http://y/v1"] and listed.replica_count == 2


LOAD_HYPOTHESIS = """\
---
id: traffic
title: Latency holds at four in flight
criteria:
  - scenario: tiny-math
    metric: latency_p95_s
    at_most: 5.0
    load: {concurrency: 4}
---
Measured across the replicas.
"""


def _workspace(root: Path, urls: list[str]) -> Path:
    ws = write_workspace(root, url=urls[0], hypothesis=LOAD_HYPOTHESIS)
    cfg = ws / "roadtest.yaml"
    listed = "[" + ", ".join(urls) + "]" if len(urls) > 1 else urls[0]
    cfg.write_text(cfg.read_text().replace(f"base_url: {urls[0]}", f"base_url: {listed}"))
    return ws


def _run(ws: Path) -> Path:
    result = runner.invoke(app, ["run", "-w", str(ws), "-q", "--json", "--no-cache"])
    assert result.exit_code == 0, result.output
    return Path(json.loads(result.stdout)["path"])


def test_a_run_over_replicas_records_them_and_the_report_says_what_differs(tmp_path, stub):
    (_, u1), (_, u2) = stub(fingerprint="fp_a"), stub(fingerprint="fp_b")
    ws = _workspace(tmp_path / "ws", [u1, u2])
    run_dir = _run(ws)
    manifest = json.loads((run_dir / "manifest.json").read_text())
    entry = manifest["endpoints"]["smollm2"]
    assert [r["served"]["system_fingerprint"] for r in entry["replicas"]] == [["fp_a"], ["fp_b"]]
    assert entry["served"]["system_fingerprint"] == ["fp_a", "fp_b"]
    assert len(entry["replica_drift"]) == 1 and "system_fingerprint" in entry["replica_drift"][0]
    rows = [json.loads(line) for line in (run_dir / "trials.jsonl").read_text().splitlines()]
    assert {r["replica"] for r in rows} == {1, 2}
    load = json.loads((run_dir / "metrics.json").read_text())["load"]["tiny-math"]["smollm2"]
    assert load["c4"]["replicas"] == 2 and load["base"]["replicas"] == 2
    assert load["base"]["target"]["concurrency"] == 2                  # max_concurrency 1 on each of 2
    assert runner.invoke(app, ["report", str(run_dir), "-w", str(ws), "--format", "html"]).exit_code == 0
    html = (run_dir / "report.html").read_text()
    assert "reports a different system_fingerprint than replica 1" in html
    assert "across 2 replicas" in html
    assert "2 OpenAI-compatible endpoints (replicas)" in html

    # the same workspace served by one endpoint: a report over both runs says the counts differ
    cfg = ws / "roadtest.yaml"
    cfg.write_text(cfg.read_text().replace(f"[{u1}, {u2}]", u1))
    single = _run(ws)
    one = json.loads((single / "manifest.json").read_text())["endpoints"]["smollm2"]
    assert "replicas" not in one and "replica_drift" not in one
    assert "replicas" not in json.loads((single / "metrics.json").read_text())["load"]["tiny-math"]["smollm2"]["c4"]
    out = tmp_path / "both"
    result = runner.invoke(app, ["report", str(run_dir), str(single), "-w", str(ws), "--format", "html",
                                 "--out", str(out)])
    assert result.exit_code == 0, result.output
    both = (out / "report.html").read_text()
    assert "different numbers of replicas" in both and "smollm2 with 2 replicas" in both


# -- local replicas (model lane) -------------------------------------------------------------------------------

@pytest.mark.model
def test_local_replicas_start_two_servers_that_both_answer_and_are_stopped(tmp_path, monkeypatch):
    from roadtest.providers.local import LocalServer

    started: list[LocalServer] = []
    pids: list[int] = []
    original = LocalServer.start

    def start(self, wait: bool = True) -> str:
        started.append(self)
        url = original(self, wait)
        assert self.process is not None
        pids.append(self.process.pid)
        return url

    monkeypatch.setattr(LocalServer, "start", start)
    spec = ModelSpec(id="m", provider="local", gguf="smollm2-135m-instruct", model="smollm2", replicas=2,
                     timeout_s=120)
    sink = engine(spec, trials(6), tmp_path)
    assert len(started) == 2 and {s.threads for s in started} == {max(1, (os.cpu_count() or 1) // 2)}
    assert all(r["error"] is None for r in sink.records)
    assert {r["replica"] for r in sink.records} == {1, 2}                # both servers answered
    entry = sink.endpoints["m"]
    assert entry["provider"] == "local" and "base_url" not in entry and len(entry["replicas"]) == 2
    assert all("base_url" not in r and r["gguf_sha256"] == entry["gguf_sha256"] for r in entry["replicas"])
    assert len(pids) == 2 and all(s.process is None for s in started)   # stopped by PID when the run ended
    for pid in pids:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)


# -- conversations: the assistant's and a simulated customer's replicas ----------------------------------------

def test_conversations_over_replicas_of_the_assistant_and_of_the_customer(tmp_path, stub):
    from tests.engine.test_conversation_engine import scripted
    from tests.engine.test_conversations import CASES, SIMULATOR, only_run, records, run_cli, write_ws

    (a1, u1), (a2, u2) = stub(answer=scripted), stub(answer=scripted)
    (c1, v1), (c2, v2) = stub(answer=lambda body: "Where is my order 1234?"), stub(answer=lambda body: "Hm, 1234?")
    ws = write_ws(tmp_path / "ws", f"[{u1}, {u2}]", user=SIMULATOR, customer_url=f"[{v1}, {v2}]", cases=CASES[:3])
    result = run_cli("run", "-w", str(ws), "-q", "--json", "-m", "smollm2", "--no-cache")
    assert result.exit_code in (0, 1), result.output
    run_dir = only_run(ws)
    rows = records(run_dir)
    assert rows and all(r["error"] is None and r.get("cache") is None for r in rows)
    for who in ("smollm2", "customer"):
        assert {r["replica"] for r in rows if r["model"] == who} == {1, 2}
    assert min(len(p.seen) for p in (a1, a2, c1, c2)) > 0
    endpoints = json.loads((run_dir / "manifest.json").read_text())["endpoints"]
    assert [r["base_url"] for r in endpoints["customer"]["replicas"]] == [v1, v2]
    assert endpoints["smollm2"]["base_url"] == [u1, u2]
