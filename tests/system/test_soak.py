"""The soak's invariants, one test each, over one run shared by the module.

The run (``soak.py``) is the example project on three uvicorn workers over a
throwaway PostgreSQL 15 and redis-server, under a mix of draft saves and
reads, WebSocket and SSE subscribers, numbered broadcasts, probes and
over-the-limit bursts, while Redis is killed, Redis is frozen, PostgreSQL is
stopped and a worker is killed. ``STABILITY_SOAK_SECONDS`` sets its length
(default 80: one round of faults); ``STABILITY_SOAK_REPORT`` names a page to
write the figures to (``make soak`` writes docs/reliability.md). Nothing here
asserts a duration: latencies are reported, not judged.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.system import report
from tests.system.conftest import FIGURES
from tests.system.harness import Cluster, MissingCapability
from tests.system.report import GRACE, during_fault
from tests.system.soak import Result, run_soak

pytestmark = [pytest.mark.soak]

SECONDS = float(os.environ.get("STABILITY_SOAK_SECONDS", "80"))
OUTAGES = ("redis-kill", "redis-freeze", "postgres-stop")


@pytest.fixture(scope="module")
def soak(request: pytest.FixtureRequest) -> Iterator[Result]:
    """Run the soak once; a missing server fails every invariant instead of skipping it."""
    try:
        cluster = Cluster()
    except MissingCapability as missing:
        pytest.fail(f"the soak cannot run: {missing}", pytrace=False)
    try:
        cluster.start()
        result = run_soak(cluster, SECONDS)
    finally:
        cluster.stop()
    body = report.figures(result)
    request.config.stash[FIGURES] = body  # printed at the end by conftest.py
    if target := os.environ.get("STABILITY_SOAK_REPORT"):
        report.write(Path(target), body)
    yield result


def test_no_acknowledged_draft_save_is_lost(soak: Result) -> None:
    """Every save answered 200 is stored with its version (or superseded by a later one)."""
    acked = sum(len(v) for v in soak.record.acked.values())
    assert acked > 0, "no draft save was acknowledged: the writers did not run"
    assert report.lost_writes(soak) == []


def test_no_server_error_and_503_only_as_problem_with_retry_after(soak: Result) -> None:
    """No 500 anywhere; a 503 is a problem+json with Retry-After, and only during a fault."""
    errors = [c for c in soak.record.calls if c.status >= 500 and c.status != 503]
    assert errors == [], f"{len(errors)} server errors, first {errors[:3]}"
    unavailable = [c for c in soak.record.calls if c.status == 503]
    bare = [c for c in unavailable if c.retry_after is None]
    assert bare == [], f"{len(bare)} 503s without Retry-After, first {bare[:3]}"
    api = [c for c in unavailable if c.kind.startswith("draft")]
    plain = [
        c for c in api if not c.content_type.startswith("application/problem+json")
    ]
    assert plain == [], (
        f"{len(plain)} draft 503s that are not problem+json: {plain[:3]}"
    )
    # Judged by when the answer came: a request sent just before a fault
    # began can be answered 503 by it.
    calm = [c for c in unavailable if not during_fault(soak, c.t + c.ms / 1000)]
    assert calm == [], (
        f"{len(calm)} 503s outside any fault (+{GRACE:.0f} s), first {calm[:3]}"
    )


def test_every_subscriber_holds_every_event_once_in_order(soak: Result) -> None:
    """After its final replay, each WebSocket and SSE client has each acknowledged event once, in order."""
    assert soak.broadcasts, "no broadcast was acknowledged: the broadcaster did not run"
    problems, _ = report.realtime_problems(soak)
    assert problems == []


def test_rate_limit_answers_429_with_retry_after(soak: Result) -> None:
    bursts = [c for c in soak.record.calls if c.kind == "over-limit"]
    limited = [c for c in bursts if c.status == 429]
    assert limited, f"no 429 among {len(bursts)} requests over the limit"
    assert all(c.retry_after and c.retry_after.isdigit() for c in limited)


def _windows(soak: Result, names: tuple[str, ...]) -> list[tuple[str, float, float]]:
    faults = [f for f in soak.faults if f.name in names]
    assert faults, f"no {names} fault was injected: the run was too short"
    return [(f.name, f.start, f.end + GRACE) for f in faults]


def test_breakers_open_during_outages_and_close_after(soak: Result) -> None:
    """The database breaker opens while PostgreSQL is down, the cache breaker while Redis is; all close."""
    wanted = {
        "postgres-stop": "database",
        "redis-kill": "cache",
        "redis-freeze": "cache",
    }
    never = [
        f"{breaker} during {name} at {start:.0f}"
        for name, start, end in _windows(soak, tuple(wanted))
        if not any(
            b == (breaker := wanted[name]) and value == 1 and start <= t <= end
            for t, _, b, value in soak.breakers
        )
    ]
    assert never == [], f"breakers that never opened: {never}"
    assert soak.final_breakers, "the breakers endpoint never answered at the end"
    assert set(soak.final_breakers.values()) == {"closed"}, soak.final_breakers


def test_readiness_reports_each_outage_and_recovers(soak: Result) -> None:
    """``health/ready`` answers 503 during each outage, and 200 again after it."""
    silent, stuck = [], []
    for name, start, end in _windows(soak, OUTAGES):
        if not any(start <= t <= end and status == 503 for t, _, status in soak.ready):
            silent.append(f"{name} at {start:.0f}")
        if not any(t > end - GRACE and status == 200 for t, _, status in soak.ready):
            stuck.append(f"{name} at {start:.0f}")
    assert silent == [], f"outages readiness never reported: {silent}"
    assert stuck == [], f"outages readiness never recovered from: {stuck}"
    last = {worker: status for _, worker, status in soak.ready}
    assert set(last.values()) == {200}, f"last readiness per worker: {last}"


def test_postgres_connections_come_back_within_pool_bounds(soak: Result) -> None:
    low, high = soak.pool_bounds
    assert low <= soak.connections <= high, (
        f"{soak.connections} client connections, expected {low}-{high} (3 workers x DB_POOL_MIN..MAX)"
    )


def test_worker_memory_stays_within_20_percent_of_warm_up(soak: Result) -> None:
    memory = report.memory(soak)
    assert len(memory) == 3, f"memory measured for workers {sorted(memory)} only"
    grown = {w: (a, b) for w, (a, b) in memory.items() if not 0.8 * a <= b <= 1.2 * a}
    assert grown == {}, f"RSS after warm-up -> end (bytes): {grown}"
