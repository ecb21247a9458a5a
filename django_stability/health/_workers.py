"""Where health checks run: the health loop, and the threads that blocking check code runs in.

One event loop thread per process runs every probe; blocking check code runs
in daemon threads that a timed-out probe may abandon. A forked child
(gunicorn ``--preload``) gets a new loop and new threads."""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextvars
import logging
import os
import queue
import threading
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

T = TypeVar("T")

_log = logging.getLogger("django_stability.health")

#: Threads kept at most; beyond this many stuck checks a new one fails at once.
MAX_THREADS = 32

_Job = tuple[concurrent.futures.Future[Any], contextvars.Context, Callable[[], Any]]


class _Loop:
    """The health loop's thread, started on first use and again after :meth:`stop`."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None

    def running(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            if self._loop is None or not (self._thread and self._thread.is_alive()):
                loop = asyncio.new_event_loop()
                ready = threading.Event()

                def serve() -> None:
                    asyncio.set_event_loop(loop)
                    loop.call_soon(ready.set)
                    loop.run_forever()

                self._thread = threading.Thread(
                    target=serve, name="stability-health-loop", daemon=True
                )
                self._thread.start()
                ready.wait()
                self._loop = loop
            return self._loop

    def stop(self, timeout: float) -> None:
        with self._lock:
            loop, thread = self._loop, self._thread
            self._loop = self._thread = None
        if loop is None or thread is None:
            return
        try:
            asyncio.run_coroutine_threadsafe(loop.shutdown_asyncgens(), loop).result(
                timeout
            )
        finally:
            loop.call_soon_threadsafe(loop.stop)
            thread.join(timeout)
            if not thread.is_alive():
                loop.close()


class _Pool:
    """Daemon threads for blocking check code, reused when idle, at most ``max_threads``."""

    def __init__(self, max_threads: int) -> None:
        self.max_threads = max_threads
        self._jobs: queue.SimpleQueue[_Job] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._threads = 0
        self._idle = 0

    def submit(self, func: Callable[[], T]) -> concurrent.futures.Future[T]:
        future: concurrent.futures.Future[T] = concurrent.futures.Future()
        with self._lock:
            if self._idle == 0:
                if self._threads >= self.max_threads:
                    future.set_exception(
                        RuntimeError(
                            f"{self._threads} health-check threads are all stuck"
                        )
                    )
                    return future
                self._threads += 1
                self._idle += 1
                threading.Thread(
                    target=self._work, name="stability-health", daemon=True
                ).start()
            self._idle -= 1
        self._jobs.put((future, contextvars.copy_context(), func))
        return future

    def _work(self) -> None:
        while True:
            future, context, func = self._jobs.get()
            if future.set_running_or_notify_cancel():
                try:
                    result = context.run(func)
                except Exception as exc:  # reported to the awaiting check
                    _close_connections()  # before the check (and the probe) returns
                    future.set_exception(exc)
                else:
                    _close_connections()
                    future.set_result(result)
            with self._lock:
                self._idle += 1


def _close_connections() -> None:
    # Whatever a job opened on this thread's Django connections (a check's own
    # query, a breaker reading a forced state, a user's sync check) is closed,
    # or returned to the pool, before the thread takes the next job: probes
    # never leave connections behind, whoever wrote the check.
    from django.db import connections

    try:
        connections.close_all()
    except Exception:  # a broken connection must not kill the health thread
        _log.exception("closing a health-check thread's database connections failed")


_loop = _Loop()
_pool = _Pool(MAX_THREADS)


def _forget_threads_after_fork() -> None:
    # The parent's threads did not survive the fork, and a lock may have been
    # held: a loop or a pool that counted on them would take work nobody runs.
    global _loop, _pool
    _loop, _pool = _Loop(), _Pool(MAX_THREADS)


os.register_at_fork(after_in_child=_forget_threads_after_fork)


def run_sync(coro: Coroutine[Any, Any, T], seconds: float) -> T:
    """Run ``coro`` on the health loop and wait at most ``seconds`` for it.

    Raises:
        TimeoutError: it did not finish in time (it is cancelled).
    """
    future = asyncio.run_coroutine_threadsafe(coro, _loop.running())
    try:
        return future.result(seconds)
    except concurrent.futures.TimeoutError:
        future.cancel()
        raise TimeoutError from None


async def run_async(coro: Coroutine[Any, Any, T], seconds: float) -> T:
    """Await ``coro`` run on the health loop from another event loop, at most ``seconds``.

    Raises:
        TimeoutError: it did not finish in time (it is cancelled).
    """
    async with asyncio.timeout(seconds):
        return await asyncio.wrap_future(
            asyncio.run_coroutine_threadsafe(coro, _loop.running())
        )


def stop(timeout: float = 5.0) -> None:
    """Close the loop's async generators (the engine's per-loop Redis clients) and stop it.

    The next probe starts a new loop. Tests call this between settings.
    """
    _loop.stop(timeout)


async def in_thread(func: Callable[[], T]) -> T:
    """Await ``func()`` run in a health-check thread; cancelling abandons the thread's work."""
    return await asyncio.wrap_future(_pool.submit(func))
