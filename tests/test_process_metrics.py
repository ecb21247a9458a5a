"""Per-process memory and CPU: fresh at scrape time, throttled from activity, summed across worker processes.

The last test runs the example under uvicorn with two workers: probes answered
before Django, and worker memory, show in one scrape.
"""

from __future__ import annotations

import functools
import http.client
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.test import Client
from prometheus_client import REGISTRY

from django_stability._process_metrics import (
    ProcessMetrics,
    memory_limit,
    read_usage,
)
from tests import services
from tests.clock import FakeClock
from tests.exposition import samples, value
from tests.fixtures.redis_server import free_port

ROOT = Path(__file__).resolve().parents[1]
MB = 1 << 20
STARTUP_TIMEOUT = 90.0  # seconds, on a loaded machine
PROBES = 20
RSS = "stability_process_resident_memory_bytes"
CPU = "stability_process_cpu_seconds_total"
LIMIT = "stability_process_memory_limit_bytes"


def sample(name: str) -> float:
    """A sample of this process's default registry, which must be there."""
    found = REGISTRY.get_sample_value(name)
    assert found is not None, name
    return found


def cpu() -> float:
    usage = read_usage()
    assert usage is not None
    return usage.cpu_seconds


def scrape() -> str:
    response = Client().get("/stability/metrics")
    assert response.status_code == 200
    return response.content.decode()


def test_a_scrape_shows_the_memory_the_process_holds_now():
    """Memory allocated just before a scrape is in that scrape: the scraping process refreshes first."""
    before = value(scrape(), RSS)
    assert before > 10 * MB
    held = b"x" * (64 * MB)
    after = value(scrape(), RSS)
    assert after - before >= 48 * MB
    assert len(held) == 64 * MB
    assert value(scrape(), CPU) > 0


def test_activity_refreshes_at_most_once_per_interval():
    """Between two refreshes from activity at least the interval passes (on an injected clock)."""
    clock = FakeClock()
    writer = ProcessMetrics(clock=clock, interval=5.0)
    writer.maybe_refresh()
    first = sample(RSS)
    held = b"x" * (64 * MB)
    clock.advance(4.9)
    writer.maybe_refresh()
    assert sample(RSS) == first  # too soon: not read again
    clock.advance(0.1)
    writer.maybe_refresh()
    assert sample(RSS) - first >= 48 * MB
    assert len(held) == 64 * MB


def test_the_cpu_counter_grows_by_the_cpu_spent_since_the_last_refresh():
    """CPU burnt between two refreshes is added to stability_process_cpu_seconds_total."""
    clock = FakeClock()
    writer = ProcessMetrics(clock=clock, interval=5.0)
    writer.maybe_refresh()
    before = sample(CPU)
    start = cpu()
    while cpu() - start < 0.2:  # work until the kernel counted 0.2 s
        sum(range(10_000))
    clock.advance(5.0)
    writer.maybe_refresh()
    assert round(sample(CPU) - before, 6) >= 0.2  # sums of ticks: float error only


def test_read_usage_without_proc_falls_back_to_resource(tmp_path):
    """Where /proc is missing, usage comes from getrusage (peak memory, CPU time)."""
    usage = read_usage(tmp_path / "no-proc")
    assert usage is not None
    assert usage.rss_bytes > 10 * MB
    assert usage.cpu_seconds > 0


def _cgroup(
    tmp_path: Path, proc: str, files: dict[str, str]
) -> functools.partial[int | None]:
    """A cgroup tree of real files: ``/proc/self/cgroup`` says ``proc``, ``files`` are under the mount."""
    (tmp_path / "cgroup").write_text(proc)
    mount = tmp_path / "fs"
    for name, text in files.items():
        (mount / name).parent.mkdir(parents=True, exist_ok=True)
        (mount / name).write_text(text + "\n")
    mount.mkdir(exist_ok=True)
    return functools.partial(memory_limit, tmp_path / "cgroup", mount)


@pytest.mark.parametrize(
    ("proc", "files", "limit"),
    [
        # cgroup v2: the container's own limit.
        (
            "0::/kubepods/pod1/app\n",
            {"kubepods/pod1/app/memory.max": "536870912"},
            512 * MB,
        ),
        # v2 "max" in the cgroup, a lower limit on the pod above it: the pod's.
        (
            "0::/kubepods/pod1/app\n",
            {
                "kubepods/pod1/app/memory.max": "max",
                "kubepods/pod1/memory.max": "268435456",
            },
            256 * MB,
        ),
        ("0::/kubepods/pod1/app\n", {"kubepods/pod1/app/memory.max": "max"}, None),
        # A cgroup namespace: the container sees its cgroup as "/" at the mount.
        ("0::/\n", {"memory.max": "1073741824"}, 1024 * MB),
        # cgroup v1, and a hybrid host (v2 mounted without the memory controller).
        (
            "4:memory:/docker/abc\n",
            {"memory/docker/abc/memory.limit_in_bytes": "134217728"},
            128 * MB,
        ),
        (
            "0::/\n4:memory:/docker/abc\n",
            {"memory/docker/abc/memory.limit_in_bytes": "134217728"},
            128 * MB,
        ),
        # v1's "unlimited" is a number near 2**63.
        ("4:memory:/\n", {"memory/memory.limit_in_bytes": "9223372036854771712"}, None),
        ("0::/\n", {}, None),
    ],
)
def test_the_memory_limit_is_read_from_cgroup_v2_then_v1(tmp_path, proc, files, limit):
    """memory.max (v2) or memory.limit_in_bytes (v1), the lowest up the tree; None when unlimited."""
    assert _cgroup(tmp_path, proc, files)() == limit


def test_no_cgroup_file_means_no_limit(tmp_path):
    """Off Linux (no /proc/self/cgroup) the limit is unknown."""
    assert memory_limit(tmp_path / "missing", tmp_path) is None


def test_a_known_limit_is_exported(tmp_path):
    """With a limit in the cgroup, stability_process_memory_limit_bytes reports it."""
    limit = _cgroup(tmp_path, "0::/app\n", {"app/memory.max": "536870912"})
    ProcessMetrics(limit=limit).refresh()
    assert sample(LIMIT) == 512 * MB


def _worker(directory: Path, megabytes: int, requests: int) -> str:
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(directory)}
    done = subprocess.run(
        [sys.executable, "-m", "tests._memory_worker", str(megabytes), str(requests)],
        cwd=ROOT, env=env, check=True, timeout=60, capture_output=True, text=True,
    )  # fmt: skip
    return done.stdout.splitlines()[-1].split()[0]  # after the access-log lines


def test_every_worker_reports_its_own_memory_and_the_cpu_adds_up(tmp_path, monkeypatch):
    """Three worker processes: the one holding 200 MB shows it under its pid; one no request reached shows nothing."""
    big = _worker(tmp_path, 200, 1)
    small = _worker(tmp_path, 0, 1)
    idle = _worker(tmp_path, 0, 0)
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    text = scrape()
    rss = {
        dict(labels)["pid"]: number
        for (name, labels), number in samples(text).items()
        if name == RSS
    }
    assert set(rss) == {big, small}
    assert rss[big] - rss[small] >= 150 * MB
    assert value(text, CPU) > 0
    has_limit = any(name == LIMIT for name, _ in samples(text))
    assert has_limit == (memory_limit() is not None)
    assert idle not in rss


def test_unreadable_proc_and_cgroup_files_do_not_break_a_scrape(tmp_path):
    """A stat in another format falls back to getrusage; odd cgroup lines are skipped."""
    (tmp_path / "stat").write_text("not the format of Linux\n")
    usage = read_usage(tmp_path)
    assert usage is not None
    assert usage.cpu_seconds > 0
    limit = _cgroup(tmp_path, "garbage\n0::/app\n", {"app/memory.max": "268435456"})
    assert limit() == 256 * MB


# The example deployed: uvicorn, two workers, one metrics directory.


def get(port: int, path: str) -> tuple[int, str]:
    """One GET on a new connection, so the kernel may hand it to either worker."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        return response.status, response.read().decode()
    finally:
        connection.close()


@pytest.fixture
def server(tmp_path: Path) -> Iterator[int]:
    """``uvicorn example_project.asgi:application --workers 2`` on SQLite, metrics in one directory."""
    metrics_dir = tmp_path / "metrics"
    metrics_dir.mkdir()
    env = services.migrated_example(f"sqlite:///{tmp_path / 'db.sqlite3'}", metrics_dir)
    env.pop("REDIS_URL", None)
    port = free_port()
    log = tmp_path / "uvicorn.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [
                sys.executable, "-m", "uvicorn", "example_project.asgi:application",
                "--host", "127.0.0.1", "--port", str(port), "--workers", "2",
                "--no-access-log", "--lifespan", "off",
            ],
            cwd=ROOT, env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=out,
        )  # fmt: skip
    try:
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while True:
            assert process.poll() is None, log.read_text()[-3000:]
            try:
                get(port, "/stability/health/live")
                break
            except OSError:
                assert time.monotonic() < deadline, log.read_text()[-3000:]
                time.sleep(0.1)  # polling for the server to come up, not for a state
        yield port
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:  # pragma: no cover - only if uvicorn hangs
            process.kill()
            process.wait()


def test_probes_in_front_of_django_and_worker_memory_reach_the_scrape(server):
    """Readiness answered by with_health_probes() shows as gauges; each worker's memory carries its pid."""
    for _ in range(PROBES):
        assert get(server, "/stability/health/ready")[0] == 200
    status, text = get(server, "/stability/metrics")
    assert status == 200
    # No HTTP metric saw the probes: they never reached Django's middleware.
    routes = {
        dict(labels).get("route")
        for name, labels in samples(text)
        if name == "stability_http_requests_total"
    }
    assert "stability/health/ready" not in routes
    assert value(text, "stability_health_ready") == 1.0
    for check in ("database", "cache"):
        assert value(text, "stability_health_check_status", check=check) == 1.0
        assert value(text, "stability_health_check_duration_seconds", check=check) > 0
    memory = [
        number
        for (name, labels), number in samples(text).items()
        if name == "stability_process_resident_memory_bytes"
        and dict(labels).get("pid", "").isdigit()
    ]
    assert memory
    assert all(number > 10 << 20 for number in memory)
    assert value(text, "stability_process_cpu_seconds_total") > 0
