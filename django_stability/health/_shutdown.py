"""Graceful shutdown on SIGTERM: drain, wait, tell the app, then let the server stop.

:func:`install_sigterm_handler` replaces the SIGTERM handler with one that,
on the first SIGTERM:

1. turns this process's readiness probe to 503 "draining" at once,
2. waits ``STABILITY_DRAIN_SECONDS`` in a helper thread, while the server keeps
   serving the requests still arriving (load balancers need a few probe
   periods to take the worker out),
3. sends :data:`django_stability.signals.shutdown_started`,
4. hands SIGTERM to the handler that was installed before (gunicorn's,
   uvicorn's...), back on the main thread, or applies the default action
   (exit) if there was none.

A second SIGTERM during the wait skips the rest of it. The handler is
chained, never swallowed, so the server's own graceful shutdown still runs.
"""

from __future__ import annotations

import _thread
import signal
import threading
import time
from collections.abc import Awaitable, Callable
from types import FrameType
from typing import Any

from django_stability.conf import conf
from django_stability.health._drain import start_local_drain
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

    def _wait(self) -> None:
        seconds = (
            conf.drain_seconds if self.drain_seconds is None else self.drain_seconds
        )
        self.sleep(seconds)
        self._announce()
        if not self._chained:  # unless a second SIGTERM already cut the grace short
            # Back to the main thread: Python runs signal handlers there, as servers expect.
            _thread.interrupt_main(self.signum)

    def _announce(self) -> None:
        with self._lock:
            if self._announced:
                return
            self._announced = True
        seconds = (
            conf.drain_seconds if self.drain_seconds is None else self.drain_seconds
        )
        shutdown_started.send(sender=GracefulShutdown, drain_seconds=seconds)

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
    """Wrap an ASGI application so the SIGTERM handler is installed once the server runs it.

    ASGI servers run the application on the main thread's event loop, after
    installing their own signal handlers; single-process uvicorn, for one,
    imports the application *before* installing its handlers and would replace
    a handler installed at import. Installed on the first call (the lifespan
    startup, or the first request), the handler chains to the server's.

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
