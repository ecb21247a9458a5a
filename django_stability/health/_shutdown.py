"""Graceful shutdown on SIGTERM: drain, wait, tell the app, then let the server stop."""

from __future__ import annotations

import _thread
import signal
import threading
import time
from collections.abc import Awaitable, Callable
from types import FrameType
from typing import Any

from django_stability.health._drain import start_local_drain
from django_stability.health._settings import parsed
from django_stability.signals import shutdown_started

_Handler = Callable[[int, FrameType | None], Any] | int | None


class GracefulShutdown:
    """The SIGTERM handler of :func:`install_sigterm_handler`.

    Args:
        drain_seconds: The grace; default ``STABILITY_DRAIN_SECONDS``, read when
            the signal arrives.
        sleep: How to wait (tests pass one that returns at once).
        signum: The signal handled, ``SIGTERM`` by default.

    .. versionadded:: 0.1
    """

    def __init__(
        self,
        *,
        drain_seconds: float | None = None,
        sleep: Callable[[float], object] = time.sleep,
        signum: int = signal.SIGTERM,
    ) -> None:
        self.drain_seconds = drain_seconds
        self.sleep = sleep
        self.signum = signal.Signals(signum)
        self.previous: _Handler = None
        self.thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._announced = False
        self._chained = False

    def install(self) -> GracefulShutdown:
        """Become the handler of ``signum`` (from the main thread), remembering the previous one."""
        self.previous = signal.signal(self.signum, self)
        return self

    def __call__(self, signum: int, frame: FrameType | None) -> None:
        if self.thread is None:
            start_local_drain()
            self.thread = threading.Thread(
                target=self._wait, name="stability-drain", daemon=True
            )
            self.thread.start()
            return
        # The grace is over (the helper re-raised the signal), or another SIGTERM:
        # from now on every SIGTERM goes to the previous handler.
        self._announce()
        self._chained = True
        self._chain_to(self.previous, signum, frame)

    def _seconds(self) -> float:
        return (
            parsed("drain_seconds")
            if self.drain_seconds is None
            else self.drain_seconds
        )

    def _wait(self) -> None:
        self.sleep(self._seconds())
        self._announce()
        if not self._chained:  # unless a second SIGTERM already cut the grace short
            # Back to the main thread: Python runs signal handlers there, as servers expect.
            _thread.interrupt_main(self.signum)

    def _announce(self) -> None:
        with self._lock:
            if self._announced:
                return
            self._announced = True
        shutdown_started.send(sender=GracefulShutdown, drain_seconds=self._seconds())

    @staticmethod
    def _chain_to(previous: _Handler, signum: int, frame: FrameType | None) -> None:
        if callable(previous):
            previous(signum, frame)
        elif previous in (signal.SIG_DFL, None):
            signal.signal(signum, signal.SIG_DFL)
            signal.raise_signal(signum)
        # SIG_IGN: the process had chosen to ignore the signal; keep doing so.


def install_sigterm_handler(
    *, drain_seconds: float | None = None, sleep: Callable[[float], object] = time.sleep
) -> GracefulShutdown:
    """Install graceful shutdown for SIGTERM; call it from the main thread (``wsgi.py``, ``asgi.py``).

    Returns:
        The installed handler (its ``previous`` is the handler it chains to).

    .. versionadded:: 0.1
    """
    return GracefulShutdown(drain_seconds=drain_seconds, sleep=sleep).install()


_ASGIApp = Callable[[Any, Any, Any], Awaitable[None]]


def with_graceful_shutdown(
    application: _ASGIApp, *, drain_seconds: float | None = None
) -> _ASGIApp:
    """Wrap an ASGI application so the SIGTERM handler is installed on its first call.

    By then the server has installed its own handlers, which this one chains to.

    Args:
        application: The ASGI application (Django's, or a Channels router).
        drain_seconds: As for :func:`install_sigterm_handler`.

    .. versionadded:: 0.1
    """
    pending = True

    async def app(scope: Any, receive: Any, send: Any) -> None:
        nonlocal pending
        if pending:
            pending = False
            if threading.current_thread() is threading.main_thread():
                install_sigterm_handler(drain_seconds=drain_seconds)
        await application(scope, receive, send)

    return app
