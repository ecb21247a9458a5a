"""Several real worker processes on one Redis share one breaker."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from django.test import override_settings

from django_stability.breakers import operate
from tests import services

pytestmark = [pytest.mark.redis]

ROOT = Path(__file__).resolve().parent.parent.parent
T0 = 1_800_000_000.0
ANSWER_TIMEOUT = 30.0


class Worker:
    """One worker process holding breaker ``name``; ``ask`` sends a command, returns the answer."""

    def __init__(self, name: str, options: dict[str, Any]) -> None:
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tests.breakers._worker",
                services.REDIS_URL,
                name,
                json.dumps(options),
            ],
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.read() == {"ready": True}

    def send(self, op: str, now: float, **extra: Any) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(json.dumps({"op": op, "now": now, **extra}) + "\n")
        self.process.stdin.flush()

    def read(self) -> Any:
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        assert line, f"worker exited with {self.process.poll()}"
        return json.loads(line)

    def ask(self, op: str, now: float, **extra: Any) -> Any:
        self.send(op, now, **extra)
        return self.read()["answer"]

    def stop(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.close()
        try:
            self.process.wait(timeout=ANSWER_TIMEOUT)
        except subprocess.TimeoutExpired:  # pragma: no cover - only if a worker hangs
            self.process.kill()
            self.process.wait()
        assert self.process.stdout is not None
        self.process.stdout.close()


@pytest.fixture
def name() -> Iterator[str]:
    """A breaker name of this test's own; its shared keys are removed afterwards."""
    unique = f"mp-{uuid.uuid4().hex[:12]}"
    yield unique
    client = redis.Redis.from_url(services.REDIS_URL)
    for key in client.scan_iter(match=f"stability:breaker:{{{unique}}}*"):
        client.delete(key)
    client.close()


@pytest.fixture
def workers(name: str, request: pytest.FixtureRequest) -> Iterator[list[Worker]]:
    options = getattr(request, "param", {})
    started: list[Worker] = []
    try:
        for _ in range(3):
            started.append(Worker(name, options))
        yield started
    finally:
        for worker in started:
            worker.stop()


OPTIONS = {"failure_threshold": 3, "reset_timeout": 10, "half_open_max_calls": 1}


@pytest.mark.parametrize("workers", [OPTIONS], indirect=True)
def test_failures_in_one_worker_open_it_in_all(workers):
    """Three failures in worker A open the breaker for B and C within the staleness bound (1 s)."""
    a, b, c = workers
    assert [w.ask("call", T0) for w in workers] == ["ok", "ok", "ok"]
    assert [a.ask("fail", T0 + 0.1) for _ in range(3)] == ["failed"] * 3
    assert a.ask("call", T0 + 0.1) == "open"
    # B and C trusted their view of T0 for one second; after it, they know.
    assert [w.ask("call", T0 + 1.0) for w in (b, c)] == ["open", "open"]


@pytest.mark.parametrize("workers", [OPTIONS], indirect=True)
def test_exactly_one_trial_call_cluster_wide(workers):
    """After the reset timeout, three workers race for the one trial permit: one wins."""
    a = workers[0]
    for _ in range(3):
        a.ask("fail", T0)
    later = T0 + 10.0
    for worker in workers:  # all three at once, each in its own process
        worker.send("enter", later)
    answers = [worker.read()["answer"] for worker in workers]
    assert sorted(answers) == ["admitted", "open", "open"]
    winner = workers[answers.index("admitted")]
    assert winner.ask("exit", later + 0.5, ok=True) == "exited"
    assert [w.ask("state", later + 2.0) for w in workers] == ["closed"] * 3


@pytest.mark.parametrize("workers", [OPTIONS], indirect=True)
def test_a_failed_trial_reopens_for_everyone(workers):
    """The winning trial fails: every worker refuses calls again for a full reset timeout."""
    a, b, c = workers
    for _ in range(3):
        a.ask("fail", T0)
    assert b.ask("enter", T0 + 10.0) == "admitted"
    assert b.ask("exit", T0 + 10.5, ok=False) == "exited"
    assert [w.ask("call", T0 + 12.0) for w in (a, c)] == ["open", "open"]
    assert [w.ask("call", T0 + 20.5) for w in (a,)] == ["ok"]


@pytest.mark.django_db
@pytest.mark.parametrize("workers", [OPTIONS], indirect=True)
def test_a_forced_state_reaches_every_worker(workers, name):
    """An operator forcing the breaker open (here, in the test process) is obeyed by all workers."""
    with override_settings(
        STABILITY_REDIS_URL=services.REDIS_URL, STABILITY_BREAKERS={name: OPTIONS}
    ):
        operate(name, "open")
        import time

        now = time.time() + 2.0  # past every worker's staleness, on their clock
        assert [w.ask("call", now) for w in workers] == ["open"] * 3
        operate(name, "release")
        assert [w.ask("call", now + 2.0) for w in workers] == ["ok"] * 3
