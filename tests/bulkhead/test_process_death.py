"""A process that dies holding a shared place frees it when its lease expires, on real Redis."""

from __future__ import annotations

import signal
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from django_stability.bulkhead import Bulkhead, BulkheadConfig, BulkheadFull
from django_stability.state import Engine
from tests import services
from tests.clock import FakeClock

pytestmark = [pytest.mark.redis]

ROOT = Path(__file__).resolve().parent.parent.parent
T0 = 1_800_000_000.0


def test_a_killed_holders_place_comes_back_after_its_lease():
    """SIGKILL a process inside a shared bulkhead: its place is taken until the lease ends, then free."""
    name = f"killed-{uuid.uuid4().hex[:12]}"
    holder = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.bulkhead._holder",
            services.REDIS_URL,
            name,
            str(T0),
        ],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    engine = Engine(services.REDIS_URL, connect_timeout=5, timeout=5)
    clock = FakeClock(T0)
    config = BulkheadConfig(max_concurrent=1, shared=True, lease=5)
    survivor = Bulkhead(name, config, clock=clock, engine=engine)
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline() == "held\n"
        holder.send_signal(signal.SIGKILL)
        assert holder.wait(timeout=30) == -signal.SIGKILL
        clock.now = T0 + 4.9  # the dead process's lease still counts
        with pytest.raises(BulkheadFull), survivor:
            pass  # pragma: no cover - never entered
        clock.now = T0 + 5  # and ends on time
        with survivor:
            assert engine.mode == "redis"
    finally:
        if (
            holder.poll() is None
        ):  # pragma: no cover - only if an assertion failed first
            holder.kill()
            holder.wait()
        for stream in (holder.stdin, holder.stdout):
            if stream is not None:
                stream.close()
        engine.delete(survivor.key)
        engine.close()
