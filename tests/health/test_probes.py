"""The probe machinery without HTTP: coalescing, the result cache, the latch."""

from __future__ import annotations

import asyncio

from django_stability.health._drain import start_local_drain
from django_stability.health._probes import MAX_AGE, Probe, ProbeSet
from django_stability.health._runner import Report
from tests.clock import FakeClock


async def test_concurrent_callers_share_one_run(clock: FakeClock) -> None:
    """Ten callers arriving while a run is in flight all get that run's report; it ran once."""
    release = asyncio.Event()
    runs = 0

    async def build() -> Report:
        nonlocal runs
        runs += 1
        await release.wait()
        return Report("ok", {})

    probe = Probe(build, clock=clock)
    callers = [asyncio.ensure_future(probe.result()) for _ in range(10)]
    for _ in range(5):  # let every caller reach the shared run (yields, no waiting)
        await asyncio.sleep(0)
    release.set()
    reports = await asyncio.gather(*callers)
    assert runs == 1
    assert all(report is reports[0] for report in reports)
    assert await probe.result() is reports[0]  # then the cache answers


async def test_a_caller_giving_up_does_not_cancel_the_shared_run(
    clock: FakeClock,
) -> None:
    """Cancelling one waiting caller leaves the run to finish for the others."""
    release = asyncio.Event()

    async def build() -> Report:
        await release.wait()
        return Report("ok", {})

    probe = Probe(build, clock=clock)
    quitter = asyncio.ensure_future(probe.result())
    stayer = asyncio.ensure_future(probe.result())
    await asyncio.sleep(0)
    quitter.cancel()
    await asyncio.sleep(0)
    release.set()
    assert (await stayer).status == "ok"
    assert quitter.cancelled()


def test_max_age_is_capped_at_one_second(clock: FakeClock) -> None:
    """A result is never reused for more than a second, whatever max_age says."""

    async def build() -> Report:  # pragma: no cover - never run here
        return Report("ok", {})

    assert Probe(build, clock=clock, max_age=30).max_age == MAX_AGE == 1.0


async def test_probe_set_answers_draining_and_latched_without_running(
    clock: FakeClock,
) -> None:
    """Awaited directly, ready is draining after a local drain, and startup stays ok once latched."""
    probes = ProbeSet(clock=clock)
    probes.started = Report("ok", {})
    assert await probes.startup() is probes.started
    start_local_drain()
    assert (await probes.ready()).status == "draining"
    assert probes.ready_probe.runs == 0
