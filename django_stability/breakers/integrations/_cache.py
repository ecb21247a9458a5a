"""The cache breaker: a cache backend that wraps another one and turns its outage into misses.

::

    CACHES = {
        "default": {
            "BACKEND": "django_stability.breakers.integrations.BreakerCache",
            "LOCATION": "redis://127.0.0.1:6379/1",
            "OPTIONS": {
                "BACKEND": "django_redis.cache.RedisCache",  # the wrapped backend
                "BREAKER": "cache",  # optional, the breaker's name
                # ...and the wrapped backend's own options.
            },
        }
    }
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any, cast

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
    server, reads answer as a miss and writes are dropped: the view goes on
    without its cache, no exception reaches it. Connection errors (``OSError``,
    redis-py's ``ConnectionError`` and ``TimeoutError``, django-redis's
    ``ConnectionInterrupted``, plus ``OPTIONS["FAILURES"]``) count as
    failures; any other error (``ValueError`` of ``incr`` on a missing key,
    a value that does not pickle) reaches the caller as usual.

    ``OPTIONS``: ``BACKEND`` (required) is the wrapped backend's dotted path,
    ``BREAKER`` the breaker's name (default ``"cache"``) or a breaker object,
    ``FAILURES`` a list of further exception classes (or dotted paths) that
    count; every other key is the wrapped backend's own option. ``LOCATION``,
    ``TIMEOUT``, ``KEY_PREFIX``, ``VERSION`` and ``KEY_FUNCTION`` are the
    wrapped backend's.

    Other methods of the wrapped backend (django-redis's ``ttl``, ``lock``,
    ``keys``...) are passed through without the breaker.

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
        self._target: str | CircuitBreaker = target
        # Looked up once per cache object (a process has a handful).
        self._failures = (*_default_failures(), *extra)

    @property
    def breaker(self) -> CircuitBreaker:
        """The breaker this cache goes through."""
        return _guard.resolve(self._target)

    def _counts(self, exc: BaseException) -> bool:
        return isinstance(exc, self._failures) and not _answered(exc)

    def _missed(self, method: str, exc: Exception) -> None:
        if isinstance(exc, CircuitOpenError):
            return
        if not self._counts(exc):
            raise exc
        log.warning(
            "cache_unavailable",
            breaker=self.breaker.name,
            method=method,
            error=f"{type(exc).__name__}: {exc}",
        )

    def _call(self, method: str, miss: Any, *args: Any, **kwargs: Any) -> Any:
        func: Callable[..., Any] = getattr(self.cache, method)
        try:
            return _guard.call(self.breaker, self._counts, func, *args, **kwargs)
        except Exception as exc:
            self._missed(method, exc)
            return miss

    async def _acall(self, method: str, miss: Any, *args: Any, **kwargs: Any) -> Any:
        func: Callable[..., Any] = getattr(self.cache, method)
        try:
            return await _guard.acall(self.breaker, self._counts, func, *args, **kwargs)
        except Exception as exc:
            self._missed(method, exc)
            return miss

    def __getattr__(self, name: str) -> Any:
        # Only reached for names BaseCache lacks: the wrapped backend's extras.
        if name == "cache":  # not set yet (a failing __init__)
            raise AttributeError(name)
        return getattr(self.cache, name)

    # Reads: a miss --------------------------------------------------------------

    def get(self, key: Any, default: Any = None, version: int | None = None) -> Any:
        return self._call("get", default, key, default, version=version)

    async def aget(
        self, key: Any, default: Any = None, version: int | None = None
    ) -> Any:
        return await self._acall("aget", default, key, default, version=version)

    def get_many(
        self, keys: Iterable[Any], version: int | None = None
    ) -> dict[Any, Any]:
        return cast(dict[Any, Any], self._call("get_many", {}, keys, version=version))

    async def aget_many(
        self, keys: Iterable[Any], version: int | None = None
    ) -> dict[Any, Any]:
        found = await self._acall("aget_many", {}, keys, version=version)
        return cast(dict[Any, Any], found)

    def has_key(self, key: Any, version: int | None = None) -> bool:
        return bool(self._call("has_key", False, key, version=version))

    async def ahas_key(self, key: Any, version: int | None = None) -> bool:
        return bool(await self._acall("ahas_key", False, key, version=version))

    # Writes: dropped, answering as a failed write does ------------------------

    def set(
        self,
        key: Any,
        value: Any,
        timeout: float | None = DEFAULT_TIMEOUT,
        version: int | None = None,
    ) -> None:
        self._call("set", None, key, value, timeout, version=version)

    async def aset(
        self,
        key: Any,
        value: Any,
        timeout: float | None = DEFAULT_TIMEOUT,  # noqa: ASYNC109 - the entry's expiry (Django's cache API), not a call timeout
        version: int | None = None,
    ) -> None:
        await self._acall("aset", None, key, value, timeout, version=version)

    def add(
        self,
        key: Any,
        value: Any,
        timeout: float | None = DEFAULT_TIMEOUT,
        version: int | None = None,
    ) -> bool:
        return bool(self._call("add", False, key, value, timeout, version=version))

    async def aadd(
        self,
        key: Any,
        value: Any,
        timeout: float | None = DEFAULT_TIMEOUT,  # noqa: ASYNC109 - the entry's expiry (Django's cache API), not a call timeout
        version: int | None = None,
    ) -> bool:
        added = await self._acall("aadd", False, key, value, timeout, version=version)
        return bool(added)

    def touch(
        self,
        key: Any,
        timeout: float | None = DEFAULT_TIMEOUT,
        version: int | None = None,
    ) -> bool:
        return bool(self._call("touch", False, key, timeout, version=version))

    async def atouch(
        self,
        key: Any,
        timeout: float | None = DEFAULT_TIMEOUT,  # noqa: ASYNC109 - the entry's expiry (Django's cache API), not a call timeout
        version: int | None = None,
    ) -> bool:
        return bool(await self._acall("atouch", False, key, timeout, version=version))

    def delete(self, key: Any, version: int | None = None) -> bool:
        return bool(self._call("delete", False, key, version=version))

    async def adelete(self, key: Any, version: int | None = None) -> bool:
        return bool(await self._acall("adelete", False, key, version=version))

    def set_many(
        self,
        data: Mapping[Any, Any],
        timeout: float | None = DEFAULT_TIMEOUT,
        version: int | None = None,
    ) -> list[Any]:
        failed = self._call("set_many", list(data), data, timeout, version=version)
        return list(failed or [])

    async def aset_many(
        self,
        data: Mapping[Any, Any],
        timeout: float | None = DEFAULT_TIMEOUT,  # noqa: ASYNC109 - the entry's expiry (Django's cache API), not a call timeout
        version: int | None = None,
    ) -> list[Any]:
        failed = await self._acall(
            "aset_many", list(data), data, timeout, version=version
        )
        return list(failed or [])

    def delete_many(self, keys: Iterable[Any], version: int | None = None) -> None:
        self._call("delete_many", None, keys, version=version)

    async def adelete_many(
        self, keys: Iterable[Any], version: int | None = None
    ) -> None:
        await self._acall("adelete_many", None, keys, version=version)

    def incr(self, key: Any, delta: int = 1, version: int | None = None) -> int:
        # A dropped increment answers as a new counter would: limits built on
        # counters fail open while the cache is away.
        return cast(int, self._call("incr", delta, key, delta, version=version))

    async def aincr(self, key: Any, delta: int = 1, version: int | None = None) -> int:
        found = await self._acall("aincr", delta, key, delta, version=version)
        return cast(int, found)

    def decr(self, key: Any, delta: int = 1, version: int | None = None) -> int:
        return cast(int, self._call("decr", -delta, key, delta, version=version))

    async def adecr(self, key: Any, delta: int = 1, version: int | None = None) -> int:
        found = await self._acall("adecr", -delta, key, delta, version=version)
        return cast(int, found)

    def clear(self) -> None:
        self._call("clear", None)

    async def aclear(self) -> None:
        await self._acall("aclear", None)

    # Housekeeping: straight through -------------------------------------------

    def close(self, **kwargs: Any) -> None:
        self.cache.close(**kwargs)

    async def aclose(self, **kwargs: Any) -> None:
        await self.cache.aclose(**kwargs)
