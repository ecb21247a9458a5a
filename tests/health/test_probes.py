"""The probe machinery without HTTP: coalescing, the result cache, the latch, the health loop."""

from __future__ import annotations

import asyncio

import pytest

from django_stability.health import ProbeSet, Report, _loop, start_local_drain
from django_stability.health._probes import MAX_AGE, Probe
from tests.state.conftest import FakeClock


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


def test_health_loop_wait_is_bounded() -> None:
    """A coroutine that outlives the wait raises TimeoutError and is cancelled."""

    async def forever() -> None:
        await asyncio.Event().wait()

    with pytest.raises(TimeoutError):
        _loop.run_sync(forever(), 0.05)
    _loop.stop()
    _loop.stop()  # stopping a stopped loop is fine


_FORK_CHILD = """
import asyncio, os, signal, sys
import django
django.setup()
from django_stability.health import _loop, run_checks, Cache
from django_stability.health._threads import in_thread

def probe():
    return _loop.run_sync(run_checks([Cache()], seconds=2), 5).status

print("parent", probe(), asyncio.run(in_thread(lambda: 1)), flush=True)
pid = os.fork()
if pid == 0:
    signal.alarm(20)  # a hung child must not outlive the test
    print("child", probe(), asyncio.run(in_thread(lambda: 2)), flush=True)
    os._exit(0)
os.waitpid(pid, 0)
"""


def test_probes_work_in_a_forked_child() -> None:
    """After a fork (gunicorn --preload) the child starts its own health loop and threads."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    done = subprocess.run(
        [sys.executable, "-c", _FORK_CHILD],
        cwd=root,
        env={
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "tests.settings",
            "PYTHONPATH": str(root),
        },
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["parent ok 1", "child ok 2"]
