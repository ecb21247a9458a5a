"""Deployment checks for production readiness: pool sizing, channel layer, rate-limit cache."""

from __future__ import annotations

import os
from typing import Any

from django.apps import apps
from django.conf import settings
from django.core.checks import CheckMessage, Tags

from django_stability.checks._base import check
from django_stability.checks._codes import Codes

#: PostgreSQL's default ``max_connections``.
POSTGRES_MAX_CONNECTIONS = 100

_LOCAL_CACHES = {
    "django.core.cache.backends.locmem.LocMemCache": "keeps counts per process, so each worker allows the full rate",
    "django.core.cache.backends.dummy.DummyCache": "stores nothing, so no limit is ever reached",
}
_IN_MEMORY_LAYER = "channels.layers.InMemoryChannelLayer"


def _workers() -> int | None:
    raw = os.environ.get("WEB_CONCURRENCY", "").strip()
    return int(raw) if raw.isdigit() and int(raw) > 0 else None


def _pool_max(database: Any) -> int | None:
    if not isinstance(database, dict) or "postgresql" not in str(
        database.get("ENGINE", "")
    ):
        return None
    options = database.get("OPTIONS") or {}
    pool = options.get("pool") if isinstance(options, dict) else None
    if pool is True:
        return 4  # psycopg_pool's default max_size (= min_size, 4)
    if isinstance(pool, dict):
        size = pool.get("max_size", pool.get("min_size", 4))
        return size if isinstance(size, int) and not isinstance(size, bool) else None
    return None


@check(Tags.database, deploy=True)
def check_pool_sizing(**kwargs: Any) -> list[CheckMessage]:
    workers = _workers()
    if workers is None:
        return []
    messages = []
    for alias, database in settings.DATABASES.items():
        max_size = _pool_max(database)
        if max_size is not None and workers * max_size > POSTGRES_MAX_CONNECTIONS:
            messages.append(
                Codes.DB_POOL_WORKERS.msg(
                    "DATABASES",
                    where=f"DATABASES[{alias!r}]",
                    workers=workers,
                    max_size=max_size,
                    total=workers * max_size,
                    limit=POSTGRES_MAX_CONNECTIONS,
                )
            )
    return messages


@check(Tags.compatibility, deploy=True)
def check_channel_layer_shared(**kwargs: Any) -> list[CheckMessage]:
    layers = getattr(settings, "CHANNEL_LAYERS", None)
    if settings.DEBUG or not isinstance(layers, dict):
        return []
    return [
        Codes.CHANNEL_LAYER_IN_MEMORY.msg(
            "CHANNEL_LAYERS", where=f"CHANNEL_LAYERS[{alias!r}]"
        )
        for alias, layer in layers.items()
        if isinstance(layer, dict) and layer.get("BACKEND") == _IN_MEMORY_LAYER
    ]


def _uses_django_ratelimit() -> bool:
    # Its decorators need no app entry, so the settings are the only sign of use.
    return apps.is_installed("django_ratelimit") or hasattr(
        settings, "RATELIMIT_USE_CACHE"
    )


@check(Tags.caches, deploy=True)
def check_ratelimit_cache_shared(**kwargs: Any) -> list[CheckMessage]:
    if settings.DEBUG or not _uses_django_ratelimit():
        return []
    alias = getattr(settings, "RATELIMIT_USE_CACHE", "default")
    cache = settings.CACHES.get(alias) if isinstance(alias, str) else None
    backend = cache.get("BACKEND") if isinstance(cache, dict) else None
    if backend not in _LOCAL_CACHES:
        return []  # a missing alias is django-ratelimit's own check to report
    return [
        Codes.RATELIMIT_CACHE_LOCAL.msg(
            "CACHES",
            where=f"CACHES[{alias!r}]",
            alias=alias,
            backend=backend.rpartition(".")[2],
            problem=_LOCAL_CACHES[backend],
        )
    ]
