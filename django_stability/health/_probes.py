"""The three probes (ready, startup, full report): coalesced, cached at most a second."""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from django.conf import settings
from health_check.base import HealthCheck
from health_check.exceptions import ServiceUnavailable

from django_stability.health import checks
from django_stability.health._described import describe
from django_stability.health._drain import adrain_state, local_draining
from django_stability.health._runner import Report, run_checks
from django_stability.health._settings import READINESS, parsed, readiness_classes
from django_stability.runtime import runtime

#: Longest time a probe result is reused, in seconds.
MAX_AGE = 1.0

DRAINING = Report("draining", {})
LIVE = Report("ok", {})


def default_checks() -> list[HealthCheck]:
    """The readiness checks when ``STABILITY_READINESS_CHECKS`` is ``None``."""
    found: list[HealthCheck] = [checks.Database(), checks.Cache()]
    if getattr(settings, "CHANNEL_LAYERS", None):
        found.append(checks.ChannelLayer())
    return found


@dataclasses.dataclass
class _Unusable(HealthCheck):  # type: ignore[misc]  # health_check ships no types
    """Stands in for checks that cannot be built, so the probe fails and says why."""

    problem: str

    def key(self) -> str:
        return "readiness_checks"

    async def run(self) -> None:
        raise ServiceUnavailable(self.problem)


def readiness_checks() -> list[HealthCheck]:
    """The checks of ``STABILITY_READINESS_CHECKS``, or one failing check saying why they cannot be built."""
    try:
        classes = readiness_classes()
        return default_checks() if classes is None else [cls() for cls in classes]
    except Exception as exc:  # E021/E022 report it at startup; a probe must not 500
        return [_Unusable(f"{READINESS}: {describe(exc)}")]


def startup_checks() -> list[HealthCheck]:
    """Migrations and the readiness checks: the startup probe's and ``check_dependencies``'s."""
    return [checks.Migrations(), *readiness_checks()]


def full_checks() -> list[HealthCheck]:
    """Every check django-stability has, for the full report."""
    found: list[HealthCheck] = [checks.Database(alias) for alias in settings.DATABASES]
    found += [checks.Cache(alias) for alias in settings.CACHES]
    found += [checks.Redis(), checks.Breakers(), checks.Migrations()]
    if getattr(settings, "CHANNEL_LAYERS", None):
        found.append(checks.ChannelLayer())
    return found


class Probe:
    """One kind of probe: at most one run in flight, its result kept ``max_age`` seconds."""

    def __init__(
        self,
        build: Callable[[], Awaitable[Report]],
        *,
        clock: Callable[[], float],
        max_age: float = MAX_AGE,
    ) -> None:
        self._build = build
        self._clock = clock
        self.max_age = min(max_age, MAX_AGE)
        self._task: asyncio.Task[Report] | None = None
        self._cached: tuple[float, Report] | None = None
        self.runs = 0

    def fresh(self) -> Report | None:
        """The cached result if still fresh; safe from any thread (one tuple read)."""
        cached = self._cached
        if cached is not None and self._clock() - cached[0] < self.max_age:
            return cached[1]
        return None

    async def result(self) -> Report:
        if (report := self.fresh()) is not None:
            return report
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._refresh())
        # shield: one caller giving up (its client went away) does not cancel the others' run.
        return await asyncio.shield(self._task)

    async def _refresh(self) -> Report:
        started = self._clock()
        self.runs += 1
        try:
            report = await self._build()
        finally:
            self._task = None
        self._cached = (started, report)
        return report


class ProbeSet:
    """The probes of this process, for the current settings.

    Args:
        clock: Monotonic seconds, for the result cache (tests inject a fake one).
        max_age: Seconds a result is reused; at most 1, 0 turns caching off.
    """

    def __init__(
        self, *, clock: Callable[[], float] = time.monotonic, max_age: float = MAX_AGE
    ) -> None:
        self.clock = clock
        self.ready_probe = Probe(self._ready, clock=self._now, max_age=max_age)
        self.startup_probe = Probe(self._startup, clock=self._now, max_age=max_age)
        self.full_probe = Probe(self._full, clock=self._now, max_age=max_age)
        self.started: Report | None = None

    def _now(self) -> float:
        return self.clock()

    def peek(self, kind: str) -> Report | None:
        """The answer of probe ``kind`` when it needs no run (live, draining, latched, cached), else ``None``.

        Called from the view's thread, so a cached answer costs no hop to the health loop.
        """
        if kind == "live":  # the process answers HTTP; no dependency is touched
            return LIVE
        if kind == "ready":
            return DRAINING if local_draining() else self.ready_probe.fresh()
        if kind == "startup":
            return self.started or self.startup_probe.fresh()
        return self.full_probe.fresh()

    def run(self, kind: str) -> Coroutine[Any, Any, Report]:
        """The run of probe ``kind`` (``ready``, ``startup`` or ``full``), for the health loop."""
        runs = {"ready": self.ready, "startup": self.startup, "full": self.full}
        return runs[kind]()

    async def ready(self) -> Report:
        """503 "draining" at once after SIGTERM; otherwise the readiness checks (and shared flag)."""
        if local_draining():
            return DRAINING
        return await self.ready_probe.result()

    async def startup(self) -> Report:
        """Migrations and the readiness checks until they pass once; then ``ok`` for good."""
        if self.started is not None:
            return self.started
        report = await self.startup_probe.result()
        if report.status == "ok":
            self.started = report
        return report

    async def full(self) -> Report:
        return await self.full_probe.result()

    async def _ready(self) -> Report:
        timeout = parsed("health_timeout")
        shared, report = await asyncio.gather(
            _shared_draining(timeout), run_checks(readiness_checks(), seconds=timeout)
        )
        return Report("draining", report.checks) if shared else report

    async def _startup(self) -> Report:
        return await run_checks(startup_checks(), seconds=parsed("health_timeout"))

    async def _full(self) -> Report:
        return await run_checks(full_checks(), seconds=parsed("health_timeout"))


async def _shared_draining(seconds: float) -> bool:
    # The engine answers from memory during a Redis outage; a hung Redis is cut here.
    try:
        async with asyncio.timeout(seconds):
            return (await adrain_state()).on
    except TimeoutError:
        return False


def get_probes() -> ProbeSet:
    """This process's probes; rebuilt (latch and cache included) when settings change.

    .. versionadded:: 0.1
    """
    return runtime.get("health.probes", ProbeSet)


def use_probes(probes: ProbeSet | None) -> None:
    """Serve probes from ``probes`` (a fake clock, another ``max_age``); ``None`` restores the default.

    .. versionadded:: 0.1
    """
    runtime.install("health.probes", probes)
