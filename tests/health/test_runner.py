"""Running checks: concurrency, the per-check time limit, warnings and broken checks."""

from __future__ import annotations

import asyncio
import threading
import time
from dataclasses import dataclass

from health_check.base import HealthCheck
from health_check.exceptions import ServiceUnavailable, ServiceWarning

from django_stability.health import Cache
from django_stability.health._runner import Report, check_key, run_checks


@dataclass
class Hangs(HealthCheck):
    """An async check that never finishes on its own."""

    async def run(self) -> None:
        await asyncio.Event().wait()


@dataclass
class HangsInThread(HealthCheck):
    """A sync check stuck until released (as in a socket read without timeout)."""

    release: threading.Event

    def run(self) -> None:
        self.release.wait(10)


@dataclass
class Warns(HealthCheck):
    async def run(self) -> None:
        raise ServiceWarning("disk 91% full")


@dataclass
class Fails(HealthCheck):
    async def run(self) -> None:
        raise ServiceUnavailable("down")


@dataclass
class Broken(HealthCheck):
    async def run(self) -> None:
        raise KeyError("bug")


@dataclass
class SyncOk(HealthCheck):
    def run(self) -> None:
        self.thread = threading.current_thread().name


async def test_all_ok_is_ok_with_timings():
    """Passing checks give status ok and a duration per check."""
    report = await run_checks([Cache(), SyncOk()], seconds=1)
    assert report.status == "ok"
    assert set(report.checks) == {"cache", "SyncOk"}
    assert all(r.ms >= 0 for r in report.checks.values())


async def test_a_warning_does_not_fail_the_report():
    """ServiceWarning gives warn for the check and still ok overall."""
    report = await run_checks([Warns(), Cache()], seconds=1)
    assert report.status == "ok"
    assert report.checks["Warns"].status == "warn"
    assert report.checks["Warns"].detail == "disk 91% full"


async def test_a_failure_fails_the_report():
    """ServiceUnavailable fails the check and the report, which names it among failures."""
    report = await run_checks([Fails(), Cache()], seconds=1)
    assert report.status == "fail"
    assert list(report.failures) == ["Fails"]


async def test_hung_checks_fail_in_time():
    """A check that never returns (async, or stuck in a thread) fails once the limit passes."""
    release = threading.Event()
    started = time.monotonic()
    report = await run_checks([Hangs(), HangsInThread(release), Cache()], seconds=0.2)
    elapsed = time.monotonic() - started
    release.set()
    assert elapsed < 0.7
    assert report.checks["Hangs"].detail == "timed out after 0.2 s"
    assert report.checks["HangsInThread"].status == "fail"
    assert report.checks["cache"].status == "ok"


async def test_a_broken_check_fails_without_its_message():
    """An unexpected exception fails the check with only its type."""
    report = await run_checks([Broken()], seconds=1)
    assert report.checks["Broken"].detail == "unexpected error: KeyError"


async def test_sync_checks_run_off_the_event_loop():
    """A sync check runs in a health-check thread."""
    check = SyncOk()
    await run_checks([check], seconds=1)
    assert check.thread == "stability-health"


async def test_repeated_names_are_numbered():
    """Two checks of one kind both appear."""
    report = await run_checks([Cache(), Cache()], seconds=1)
    assert list(report.checks) == ["cache", "cache#2"]


def test_report_json_shape():
    """as_json gives the probe JSON of the contract."""
    report = Report.of({})
    assert report.as_json() == {"status": "ok", "checks": {}}


def test_keys():
    """Our checks have a key, with the alias when it is not the default; others take their class name."""
    checks = [Cache(), SyncOk(), Cache("other")]
    assert [check_key(c) for c in checks] == ["cache", "SyncOk", "cache:other"]
