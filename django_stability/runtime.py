"""The process's runtime: what is built from settings and owns resources, with one reset (``docs/shared-state.rst``)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any, TypeVar

from django.core.signals import setting_changed

T = TypeVar("T")
C = TypeVar("C", bound=Callable[[], object])
_Closing = list[tuple[str, Any, Callable[[Any], object]]]

logger = logging.getLogger("django_stability.runtime")


class Runtime:
    """Values built once per process by key; :meth:`reset` closes and forgets them.

    .. versionadded:: 0.1
    """

    def __init__(self) -> None:
        self._values: dict[str, Any] = {}
        self._closers: dict[str, Callable[[Any], object]] = {}
        self._kept: set[str] = set()
        self._callbacks: list[Callable[[], object]] = []
        self._lock = threading.RLock()

    def get(
        self,
        key: str,
        build: Callable[[], T],
        close: Callable[[T], object] | None = None,
        *,
        keep: bool = False,
    ) -> T:
        """The value under ``key``, built by ``build()`` on first use; ``close(value)`` releases it on reset.

        With ``keep``, the value outlives a settings change: only
        ``reset(everything=True)`` forgets it.
        """
        try:
            return self._values[key]  # type: ignore[no-any-return]
        except KeyError:
            pass
        with self._lock:
            if key not in self._values:
                self._values[key] = build()
                if close is not None:
                    self._closers[key] = close
                if keep:
                    self._kept.add(key)
            return self._values[key]  # type: ignore[no-any-return]

    def install(self, key: str, value: object | None) -> None:
        """Hold ``value`` under ``key`` instead of building it, kept like ``keep=True``; ``None`` uninstalls."""
        with self._lock:
            closing = self._forget({key})
            if value is not None:
                self._values[key] = value
                self._kept.add(key)
        _close(closing)

    def on_reset(self, callback: C) -> C:
        """Call ``callback()`` after every :meth:`reset`, for derived state kept elsewhere."""
        self._callbacks.append(callback)
        return callback

    def reset(self, *, everything: bool = False) -> None:
        """Close and forget what was built (with ``everything``, kept values too), then run the callbacks."""
        with self._lock:
            keys = set(self._values) if everything else set(self._values) - self._kept
            closing = self._forget(keys)
        _close(closing)
        for callback in self._callbacks:
            callback()

    def _forget(self, keys: set[str]) -> _Closing:
        closing = []
        for key in keys:
            value = self._values.pop(key, None)
            self._kept.discard(key)
            if (close := self._closers.pop(key, None)) is not None:
                closing.append((key, value, close))
        return closing


def _close(closing: _Closing) -> None:
    for key, value, close in closing:
        try:
            close(value)
        except Exception:  # a reset must reach every value and callback
            logger.exception("Closing %s failed", key)


#: The process's runtime; Django's ``setting_changed`` signal resets it.
runtime = Runtime()


def _setting_changed(**kwargs: Any) -> None:
    runtime.reset()


setting_changed.connect(_setting_changed, dispatch_uid="django_stability.runtime")
