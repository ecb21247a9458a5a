"""Health probes, startup validation and graceful drain (``docs/health.rst``)."""

from __future__ import annotations

from django_stability.health._asgi import with_health_probes
from django_stability.health._pool import record_pool_metrics
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
    "Database",
    "GracefulShutdown",
    "Migrations",
    "Redis",
    "install_sigterm_handler",
    "record_pool_metrics",
    "with_graceful_shutdown",
    "with_health_probes",
]
