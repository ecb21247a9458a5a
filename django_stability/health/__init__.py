"""Health probes, startup validation and graceful drain.

The checks are django-health-check ``HealthCheck`` dataclasses
(:mod:`django_stability.health.checks`), usable in any ``HealthCheckView``;
the probe views of ``django_stability.urls`` run them concurrently, each
bounded by ``STABILITY_HEALTH_TIMEOUT``, coalesced and cached for at most a
second. See ``docs/health.rst``.
"""

from __future__ import annotations

from django_stability.health._asgi import with_health_probes
from django_stability.health._drain import (
    DrainState,
    drain_state,
    local_draining,
    set_drain,
    start_local_drain,
    stop_local_drain,
)
from django_stability.health._pool import record_pool_metrics
from django_stability.health._probes import ProbeSet, get_probes, use_probes
from django_stability.health._runner import CheckResult, Report, run_checks
from django_stability.health._shutdown import (
    GracefulShutdown,
    install_sigterm_handler,
    with_graceful_shutdown,
)
from django_stability.health.checks import (
    Breakers,
    Cache,
    ChannelLayer,
    Database,
    Migrations,
    Redis,
)

__all__ = [
    "Breakers",
    "Cache",
    "ChannelLayer",
    "CheckResult",
    "Database",
    "DrainState",
    "GracefulShutdown",
    "Migrations",
    "ProbeSet",
    "Redis",
    "Report",
    "drain_state",
    "get_probes",
    "install_sigterm_handler",
    "local_draining",
    "record_pool_metrics",
    "run_checks",
    "set_drain",
    "start_local_drain",
    "stop_local_drain",
    "with_health_probes",
    "use_probes",
    "with_graceful_shutdown",
]
