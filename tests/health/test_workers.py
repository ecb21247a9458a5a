"""Where checks run: the health loop, the health-check threads, and both after a fork."""

from __future__ import annotations

import asyncio
import threading

import pytest

from django_stability.health import _workers
from django_stability.health._workers import MAX_THREADS, _Pool, in_thread


def test_health_loop_wait_is_bounded() -> None:
    """A coroutine that outlives the wait raises TimeoutError and is cancelled."""

    async def forever() -> None:
        await asyncio.Event().wait()

    with pytest.raises(TimeoutError):
        _workers.run_sync(forever(), 0.05)
    _workers.stop()
    _workers.stop()  # stopping a stopped loop is fine


async def test_health_loop_wait_from_another_loop_is_bounded() -> None:
    """Awaited from another event loop, a coroutine that outlives the wait raises TimeoutError."""

    async def forever() -> None:
        await asyncio.Event().wait()

    with pytest.raises(TimeoutError):
        await _workers.run_async(forever(), 0.05)
    assert await _workers.run_async(asyncio.sleep(0, "done"), 5) == "done"


_FORK_CHILD = """
import asyncio, os, signal, sys
import django
django.setup()
from django_stability.health import Cache
from django_stability.health._runner import run_checks
from django_stability.health._workers import in_thread, run_sync

def probe():
    return run_sync(run_checks([Cache()], seconds=2), 5).status

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


async def test_thread_pool_refuses_beyond_its_limit():
    """When every thread is stuck a new job fails at once instead of queueing forever."""
    pool = _Pool(1)
    release = threading.Event()
    stuck = pool.submit(lambda: release.wait(10))
    refused = pool.submit(lambda: None)
    assert "all stuck" in str(refused.exception(timeout=1))
    release.set()
    assert stuck.result(timeout=5) is True
    assert pool.submit(lambda: 7).result(timeout=5) == 7  # the thread is reused
    assert MAX_THREADS >= 8


async def test_in_thread_passes_results_and_errors():
    """in_thread returns the function's result and raises its exception."""
    assert await in_thread(lambda: 3) == 3
    try:
        await in_thread(lambda: 1 / 0)
    except ZeroDivisionError:
        pass
    else:  # pragma: no cover - the assertion's failure branch
        raise AssertionError("no exception")
