"""Live, typed access to the ``STABILITY_*`` settings (``conf.redis_url`` reads ``STABILITY_REDIS_URL``)."""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Mapping, Sequence
from datetime import timedelta
from typing import Any, Generic, TypeVar, overload

from django.conf import settings

from django_stability.runtime import runtime

T = TypeVar("T")
F = TypeVar("F", bound=Callable[..., Any])

PREFIX = "STABILITY_"


class _Setting(Generic[T]):
    """A descriptor reading ``STABILITY_<NAME>`` from Django's settings on access."""

    def __init__(
        self, default: T | Callable[[], T], *, call_default: bool = False
    ) -> None:
        self._default = default
        self._call_default = call_default
        self.setting_name = ""

    def __set_name__(self, owner: type, name: str) -> None:
        self.setting_name = PREFIX + name.upper()

    def default(self) -> T:
        if self._call_default:
            return self._default()  # type: ignore[operator]
        return self._default  # type: ignore[return-value]

    @overload
    def __get__(self, obj: None, objtype: type | None = None) -> _Setting[T]: ...

    @overload
    def __get__(self, obj: object, objtype: type | None = None) -> T: ...

    def __get__(
        self, obj: object | None, objtype: type | None = None
    ) -> T | _Setting[T]:
        if obj is None:
            return self
        if hasattr(settings, self.setting_name):
            return getattr(settings, self.setting_name)  # type: ignore[no-any-return]
        return self.default()


def _app_version_default() -> str:
    return os.environ.get("APP_VERSION") or "unknown"


class Settings:
    """The ``STABILITY_*`` settings with their defaults (see ``docs/settings.rst``)."""

    redis_url: _Setting[str | None] = _Setting(None)
    app_version: _Setting[str] = _Setting(_app_version_default, call_default=True)
    correlation_headers: _Setting[Sequence[str]] = _Setting(
        ("X-Correlation-ID", "X-Request-ID")
    )
    cache_policies: _Setting[Sequence[tuple[str, str]]] = _Setting(
        (
            ("/static/", "public, max-age=86400, immutable"),
            ("/api/", "no-store"),
        )
    )
    api_prefixes: _Setting[Sequence[str]] = _Setting(("/api/", "/stability/"))
    ratelimit: _Setting[str | None] = _Setting("100/s")
    ratelimit_exempt: _Setting[Sequence[str]] = _Setting(
        ("/stability/health/", "/stability/metrics", "/static/")
    )
    ratelimit_fail_open: _Setting[bool] = _Setting(True)
    trusted_proxies: _Setting[Sequence[str]] = _Setting(())
    breakers: _Setting[Mapping[str, Mapping[str, Any]]] = _Setting({})
    draft_ttl: _Setting[timedelta] = _Setting(timedelta(days=7))
    draft_max_bytes: _Setting[int] = _Setting(262144)
    drafts_per_user: _Setting[int] = _Setting(200)
    # Keys left out keep their defaults, held by realtime._settings.RealtimeConfig.
    realtime: _Setting[Mapping[str, Any]] = _Setting({})
    health_timeout: _Setting[float] = _Setting(2.0)
    readiness_checks: _Setting[Sequence[str] | None] = _Setting(None)
    metrics_token: _Setting[str | None] = _Setting(None)
    drain_seconds: _Setting[float] = _Setting(10)
    bulkheads: _Setting[Mapping[str, Mapping[str, Any]]] = _Setting({})
    deadlines: _Setting[Mapping[str, float]] = _Setting({})
    # Name -> options; names left out retry with retry._settings.RetryConfig's defaults.
    retries: _Setting[Mapping[str, Mapping[str, Any]]] = _Setting({})

    @classmethod
    def setting_names(cls) -> list[str]:
        """Every ``STABILITY_*`` setting name this version knows."""
        return [v.setting_name for v in vars(cls).values() if isinstance(v, _Setting)]


conf = Settings()


def cached_on_settings(func: F) -> F:
    """Memoise ``func``, a value parsed from settings, until the next :meth:`Runtime.reset <django_stability.runtime.Runtime.reset>`."""
    cached = functools.cache(func)
    runtime.on_reset(cached.cache_clear)
    return cached  # type: ignore[return-value]
