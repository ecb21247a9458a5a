"""``manage.py check_dependencies``: 0 when ready, 1 naming what fails, retries with --wait."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.test import override_settings
from health_check.base import HealthCheck
from health_check.exceptions import ServiceUnavailable

from django_stability.health import _workers
from django_stability.health._dependencies import check_dependencies
from django_stability.health._runner import Report
from django_stability.management.commands import check_dependencies as command
from tests.clock import FakeClock

HERE = "tests.management.test_check_dependencies"


@dataclass
class Fails(HealthCheck):
    async def run(self) -> None:
        raise ServiceUnavailable("search index unreachable")


@dataclass
class FailsTwice(HealthCheck):
    """Fails on its first two runs, then passes (a database still starting)."""

    runs = 0

    async def run(self) -> None:
        FailsTwice.runs += 1
        if FailsTwice.runs <= 2:
            raise ServiceUnavailable(f"attempt {FailsTwice.runs}")


@pytest.fixture(autouse=True)
def _stop_health_loop() -> Iterator[None]:
    yield
    _workers.stop()


def run(*args: str) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("check_dependencies", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


@pytest.mark.django_db
def test_ready_exits_zero_and_lists_each_check() -> None:
    """With the database migrated and the cache up, every check is listed as ok."""
    out, _ = run()
    lines = out.splitlines()
    assert [line.split()[1] for line in lines] == ["migrations:", "database:", "cache:"]
    assert all(line.startswith("ok") for line in lines)


@pytest.mark.django_db
def test_json_output_is_the_probe_json() -> None:
    """--json prints the same JSON as the startup probe."""
    out, _ = run("--json")
    body = json.loads(out)
    assert body["status"] == "ok"
    assert set(body["checks"]) == {"migrations", "database", "cache"}


@pytest.mark.django_db
@override_settings(STABILITY_READINESS_CHECKS=[f"{HERE}.Fails"])
def test_failure_names_the_check_and_exits_one() -> None:
    """A failing check gives a CommandError with returncode 1 that names it."""
    with pytest.raises(
        CommandError, match=r"not ready: Fails \(search index unreachable\)"
    ) as info:
        run()
    assert info.value.returncode == 1


@pytest.mark.django_db
@override_settings(STABILITY_READINESS_CHECKS=[f"{HERE}.Fails"])
def test_failure_with_json_still_prints_the_report() -> None:
    """--json prints the failing report before exiting 1."""
    out = io.StringIO()
    with pytest.raises(CommandError):
        call_command("check_dependencies", "--json", stdout=out)
    assert json.loads(out.getvalue())["checks"]["Fails"]["status"] == "fail"


@pytest.mark.parametrize("value", ["-1", "soon", "nan", "inf"])
def test_bad_wait_is_a_usage_error(value: str) -> None:
    """--wait takes a number of seconds, 0 or more."""
    with pytest.raises(CommandError, match="--wait"):
        run("--wait", value)


@pytest.mark.django_db
@override_settings(STABILITY_READINESS_CHECKS=[f"{HERE}.FailsTwice"])
def test_wait_retries_until_ready_with_backoff() -> None:
    """With --wait the checks are retried, backing off, until they pass."""
    FailsTwice.runs = 0
    clock = FakeClock()
    waits: list[float] = []

    def sleep(seconds: float) -> None:
        waits.append(seconds)
        clock.advance(seconds)

    report = check_dependencies(30, clock=clock, sleep=sleep)
    assert report.status == "ok"
    assert waits == [0.5, 1.0]


@pytest.mark.django_db
@override_settings(STABILITY_READINESS_CHECKS=[f"{HERE}.Fails"])
def test_wait_gives_up_at_the_deadline() -> None:
    """When the deadline passes the last failing report is returned; no wait exceeds what is left."""
    clock = FakeClock()
    waits: list[float] = []

    def sleep(seconds: float) -> None:
        waits.append(seconds)
        clock.advance(seconds)

    report = check_dependencies(2, clock=clock, sleep=sleep)
    assert report.status == "fail"
    assert waits == [0.5, 1.0, 0.5]


@pytest.mark.django_db
@override_settings(STABILITY_READINESS_CHECKS=[f"{HERE}.FailsTwice"])
def test_command_reports_each_retry_on_stderr(monkeypatch: pytest.MonkeyPatch) -> None:
    """While retrying, the command says what it waits for."""
    FailsTwice.runs = 0
    clock = FakeClock()

    def on_fake_clock(wait: float, **kwargs: Any) -> Report:
        return check_dependencies(wait, clock=clock, sleep=clock.advance, **kwargs)

    monkeypatch.setattr(command, "check_dependencies", on_fake_clock)
    _, err = run("--wait", "10")
    assert err.splitlines() == ["waiting for: FailsTwice", "waiting for: FailsTwice"]
