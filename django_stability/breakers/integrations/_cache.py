"""The cache breaker: a cache backend that wraps another one and turns its outage into misses."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from django.core.cache.backends.base import DEFAULT_TIMEOUT, BaseCache
from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string

from django_stability.breakers._breaker import CircuitBreaker
from django_stability.breakers._errors import CircuitOpenError
from django_stability.breakers.integrations import _guard
from django_stability.logging import get_logger

log = get_logger("django_stability.breakers")

# Where the usual Redis clients keep the exceptions of an unreachable server.
_KNOWN_FAILURES = (
    "redis.exceptions.ConnectionError",
    "redis.exceptions.TimeoutError",
    "django_redis.exceptions.ConnectionInterrupted",
)


def _default_failures() -> tuple[type[BaseException], ...]:
    found: list[type[BaseException]] = [OSError]
    for path in _KNOWN_FAILURES:
        try:
            found.append(import_string(path))
        except ImportError:  # pragma: no cover - the redis extra is not installed
            continue
    return tuple(found)


def _imported(path: str) -> Any:
    try:
        return import_string(path)
    except ImportError as exc:
        raise ImproperlyConfigured(
            f"BreakerCache: cannot import {path!r}: {exc}"
        ) from exc


def _answered(exc: BaseException) -> bool:
    """A command the server refused (django-redis wraps those as well): the server is up."""
    cause = exc.__cause__
    return cause is not None and type(cause).__name__.endswith("ResponseError")


class BreakerCache(BaseCache):
    """A cache backend that sends every call of the wrapped backend through a breaker.

    While the breaker is open, or when the wrapped backend cannot reach its
    server, reads answer as a miss and writes are dropped; other errors reach
    the caller. ``OPTIONS``: ``BACKEND`` (required) is the wrapped backend's
    dotted path, ``BREAKER`` the breaker's name (default ``"cache"``) or a
    breaker object, ``FAILURES`` further exception classes (or dotted paths)
    that count; every other key is the wrapped backend's own option.

    Args:
        server: ``LOCATION``.
        params: The ``CACHES`` entry.

    Raises:
        ImproperlyConfigured: ``OPTIONS["BACKEND"]`` is missing or cannot be imported.

    .. versionadded:: 0.1
    """

    def __init__(self, server: str, params: dict[str, Any]) -> None:
        options = dict(params.get("OPTIONS") or {})
        backend = options.pop("BACKEND", None)
        target = options.pop("BREAKER", "cache")
        extra = options.pop("FAILURES", ())
        if not isinstance(backend, str):
            raise ImproperlyConfigured(
                "BreakerCache needs OPTIONS['BACKEND'], the dotted path of the wrapped "
                'cache backend, such as "django_redis.cache.RedisCache"'
            )
        wrapped = _imported(backend)
        if isinstance(wrapped, type) and issubclass(wrapped, BreakerCache):
            raise ImproperlyConfigured("BreakerCache cannot wrap BreakerCache")
        extra = tuple(_imported(e) if isinstance(e, str) else e for e in extra)
        super().__init__({**params, "OPTIONS": {}})
        self.cache: BaseCache = wrapped(server, {**params, "OPTIONS": options})
        # Looked up once per cache object (a process has a handful).
        self._failures = (*_default_failures(), *extra)
        self._guard = _guard.Guard(target, self._counts, self._missed)

    @property
    def breaker(self) -> CircuitBreaker:
        """The breaker this cache goes through."""
        return self._guard.breaker

    def _counts(self, exc: BaseException) -> bool:
        return isinstance(exc, self._failures) and not _answered(exc)

    def _missed(self, func: Callable[..., Any], miss: Any, exc: Exception) -> Any:
        """``miss`` for an open breaker or an unreachable server; raises any other error."""
        if isinstance(exc, CircuitOpenError):
            return miss
        if not self._counts(exc):
            raise exc
        log.warning(
            "cache_unavailable",
            breaker=self.breaker.name,
            method=getattr(func, "__name__", "?"),
            error=f"{type(exc).__name__}: {exc}",
        )
        return miss

    def __getattr__(self, name: str) -> Any:
        # Only reached for names BaseCache lacks: the wrapped backend's extras.
        if name == "cache":  # not set yet (a failing __init__)
            raise AttributeError(name)
        return getattr(self.cache, name)

    # Reads: a miss --------------------------------------------------------------

    def get(self, key: Any, default: Any = None, version: int | None = None) -> Any:
        return self._guard.call(default, self.cache.get, key, default, version=version)

    async def aget(
        self, key: Any, default: Any = None, version: int | None = None
    ) -> Any:
        return await self._guard.acall(
            default, self.cache.aget, key, default, version=version
        )

    def get_many(
        self, keys: Iterable[Any], version: int | None = None
    ) -> dict[Any, Any]:
        return self._guard.call({}, self.cache.get_many, keys, version=version)

    async def aget_many(
        self, keys: Iterable[Any], version: int | None = None
    ) -> dict[Any, Any]:
        return await self._guard.acall({}, self.cache.aget_many, keys, version=version)

    def has_key(self, key: Any, version: int | None = None) -> bool:
        return bool(self._guard.call(False, self.cache.has_key, key, version=version))

    async def ahas_key(self, key: Any, version: int | None = None) -> bool:
        return bool(
            await self._guard.acall(False, self.cache.ahas_key, key, version=version)
        )

    # Writes: dropped, answering as a failed write does ------------------------

    def set(
        self,
        key: Any,
        value: Any,
        timeout: float | None = DEFAULT_TIMEOUT,
        version: int | None = None,
    ) -> None:
        self._guard.call(None, self.cache.set, key, value, timeout, version=version)

    async def aset(
        self,
        key: Any,
        value: Any,
        timeout: float | None = DEFAULT_TIMEOUT,  # noqa: ASYNC109 - the entry's expiry (Django's cache API), not a call timeout
        version: int | None = None,
    ) -> None:
        await self._guard.acall(
            None, self.cache.aset, key, value, timeout, version=version
        )

    def add(
        self,
        key: Any,
        value: Any,
        timeout: float | None = DEFAULT_TIMEOUT,
        version: int | None = None,
    ) -> bool:
        return bool(
            self._guard.call(
                False, self.cache.add, key, value, timeout, version=version
            )
        )

    async def aadd(
        self,
        key: Any,
        value: Any,
        timeout: float | None = DEFAULT_TIMEOUT,  # noqa: ASYNC109 - the entry's expiry (Django's cache API), not a call timeout
        version: int | None = None,
    ) -> bool:
        added = await self._guard.acall(
            False, self.cache.aadd, key, value, timeout, version=version
        )
        return bool(added)

    def touch(
        self,
        key: Any,
        timeout: float | None = DEFAULT_TIMEOUT,
        version: int | None = None,
    ) -> bool:
        return bool(
            self._guard.call(False, self.cache.touch, key, timeout, version=version)
        )

    async def atouch(
        self,
        key: Any,
        timeout: float | None = DEFAULT_TIMEOUT,  # noqa: ASYNC109 - the entry's expiry (Django's cache API), not a call timeout
        version: int | None = None,
    ) -> bool:
        touched = await self._guard.acall(
            False, self.cache.atouch, key, timeout, version=version
        )
        return bool(touched)

    def delete(self, key: Any, version: int | None = None) -> bool:
        return bool(self._guard.call(False, self.cache.delete, key, version=version))

    async def adelete(self, key: Any, version: int | None = None) -> bool:
        return bool(
            await self._guard.acall(False, self.cache.adelete, key, version=version)
        )

    def set_many(
        self,
        data: Mapping[Any, Any],
        timeout: float | None = DEFAULT_TIMEOUT,
        version: int | None = None,
    ) -> list[Any]:
        failed = self._guard.call(
            list(data), self.cache.set_many, data, timeout, version=version
        )
        return list(failed or [])

    async def aset_many(
        self,
        data: Mapping[Any, Any],
        timeout: float | None = DEFAULT_TIMEOUT,  # noqa: ASYNC109 - the entry's expiry (Django's cache API), not a call timeout
        version: int | None = None,
    ) -> list[Any]:
        failed = await self._guard.acall(
            list(data), self.cache.aset_many, data, timeout, version=version
        )
        return list(failed or [])

    def delete_many(self, keys: Iterable[Any], version: int | None = None) -> None:
        self._guard.call(None, self.cache.delete_many, keys, version=version)

    async def adelete_many(
        self, keys: Iterable[Any], version: int | None = None
    ) -> None:
        await self._guard.acall(None, self.cache.adelete_many, keys, version=version)

    def incr(self, key: Any, delta: int = 1, version: int | None = None) -> int:
        # A dropped increment answers as a new counter would: limits built on
        # counters fail open while the cache is away.
        return self._guard.call(delta, self.cache.incr, key, delta, version=version)

    async def aincr(self, key: Any, delta: int = 1, version: int | None = None) -> int:
        return await self._guard.acall(
            delta, self.cache.aincr, key, delta, version=version
        )

    def decr(self, key: Any, delta: int = 1, version: int | None = None) -> int:
        return self._guard.call(-delta, self.cache.decr, key, delta, version=version)

    async def adecr(self, key: Any, delta: int = 1, version: int | None = None) -> int:
        return await self._guard.acall(
            -delta, self.cache.adecr, key, delta, version=version
        )

    def clear(self) -> None:
        self._guard.call(None, self.cache.clear)

    async def aclear(self) -> None:
        await self._guard.acall(None, self.cache.aclear)

    # Housekeeping: straight through -------------------------------------------

    def close(self, **kwargs: Any) -> None:
        self.cache.close(**kwargs)

    async def aclose(self, **kwargs: Any) -> None:
        await self.cache.aclose(**kwargs)
