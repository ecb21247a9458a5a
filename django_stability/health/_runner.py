"""Run health checks concurrently, each bounded in time, into a probe report."""

from __future__ import annotations

import asyncio
import dataclasses
import inspect
import logging
import time
from collections.abc import Sequence
from typing import Any, Literal

from health_check.base import HealthCheck
from health_check.exceptions import HealthCheckException, ServiceWarning

from django_stability import metrics
from django_stability.health._workers import in_thread

_log = logging.getLogger("django_stability.health")

CheckStatus = Literal["ok", "warn", "fail"]
ProbeStatus = Literal["ok", "fail", "draining"]


@dataclasses.dataclass(frozen=True)
class CheckResult:
    """One check's outcome: ``status``, duration in milliseconds, and what it saw."""

    status: CheckStatus
    ms: float
    detail: str

    def as_json(self) -> dict[str, Any]:
        return {"status": self.status, "ms": self.ms, "detail": self.detail}


@dataclasses.dataclass(frozen=True)
class Report:
    """A probe's answer: the overall status and each check's result.

    ``status`` is ``"fail"`` when any check failed; a ``"warn"`` does not
    fail it.
    """

    status: ProbeStatus
    checks: dict[str, CheckResult]

    @classmethod
    def of(cls, checks: dict[str, CheckResult]) -> Report:
        failed = any(result.status == "fail" for result in checks.values())
        return cls("fail" if failed else "ok", checks)

    @property
    def failures(self) -> dict[str, CheckResult]:
        return {k: v for k, v in self.checks.items() if v.status == "fail"}

    def as_json(self) -> dict[str, Any]:
        """The probe JSON of DESIGN.md: ``{"status", "checks": {name: {...}}}``."""
        return {
            "status": self.status,
            "checks": {name: r.as_json() for name, r in self.checks.items()},
        }

    def as_public_json(self) -> dict[str, Any]:
        """The probe JSON for anonymous callers: each check's status, no timing or detail."""
        return {
            "status": self.status,
            "checks": {name: {"status": r.status} for name, r in self.checks.items()},
        }


def check_key(check: HealthCheck) -> str:
    """A check's name in probe JSON: ours have one, others are named after their class."""
    key = getattr(check, "key", None)
    return key() if callable(key) else type(check).__name__


async def run_checks(checks: Sequence[HealthCheck], *, seconds: float) -> Report:
    """Run ``checks`` concurrently, each given ``seconds``; never raises for a check.

    Names that repeat get ``#2``, ``#3``... so no result hides another. Each
    result is recorded in ``stability_health_check_status`` and
    ``stability_health_check_duration_seconds`` under that name.
    """
    results = await asyncio.gather(*(run_one(check, seconds) for check in checks))
    named: dict[str, CheckResult] = {}
    for check, result in zip(checks, results, strict=True):
        key = base = check_key(check)
        number = 1
        while key in named:
            number += 1
            key = f"{base}#{number}"
        named[key] = result
    record_checks(named)
    return Report.of(named)


def record_checks(results: dict[str, CheckResult]) -> None:
    """Set the health-check gauges from results that were just run (never from a cached report)."""
    for key, result in results.items():
        metrics.health_check_status.labels(key).set(
            metrics.HEALTH_STATUS_VALUES[result.status]
        )
        metrics.health_check_duration.labels(key).set(result.ms / 1000)


async def run_one(check: HealthCheck, seconds: float) -> CheckResult:
    """One check: ``ok`` with its detail, ``warn`` on ``ServiceWarning``, else ``fail``."""
    start = time.perf_counter()
    status: CheckStatus = "ok"
    try:
        async with asyncio.timeout(seconds):
            if inspect.iscoroutinefunction(check.run):
                await check.run()
            else:  # a sync check of someone else's: off the event loop
                await in_thread(check.run)
        detail = str(getattr(check, "detail", "") or "")
    except ServiceWarning as exc:
        status, detail = "warn", str(exc.message)
    except HealthCheckException as exc:
        status, detail = "fail", str(exc.message)
    except TimeoutError:
        status, detail = "fail", f"timed out after {seconds:g} s"
    except Exception as exc:  # a bug in a check must not take the probe down
        _log.exception("health check %s raised", check_key(check))
        status, detail = "fail", f"unexpected error: {type(exc).__name__}"
    ms = round((time.perf_counter() - start) * 1000, 3)
    if status != "ok":
        _log.warning("health check %s: %s (%s)", check_key(check), status, detail)
    return CheckResult(status, ms, detail)
