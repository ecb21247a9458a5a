"""Run blocking check code in daemon threads that a timed-out probe may abandon.

Python cannot kill a thread: a check stuck in a socket read without a timeout
keeps its thread until the read returns. :func:`in_thread` therefore hands sync
work to daemon threads of our own, never to the event loop's default executor
(a stuck job there would delay every ``run_in_executor`` of the loop) nor to a
``ThreadPoolExecutor`` (whose threads are joined at interpreter exit, so one
stuck check would keep a worker from shutting down). Idle threads are reused;
a new one is started only when all are busy, up to :data:`MAX_THREADS`. After
each job the thread closes its Django database connections (returns them to
the pool), so no check can leave one open.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextvars
import logging
import os
import queue
import threading
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")

_log = logging.getLogger("django_stability.health")

#: Threads kept at most; beyond this many stuck checks a new one fails at once.
MAX_THREADS = 32

_Job = tuple[concurrent.futures.Future[Any], contextvars.Context, Callable[[], Any]]


class _Pool:
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


_pool = _Pool(MAX_THREADS)


def _forget_threads_after_fork() -> None:
    # A forked child (gunicorn --preload) has none of the parent's threads:
    # a pool that counted them idle would queue jobs nobody runs.
    global _pool
    _pool = _Pool(MAX_THREADS)


os.register_at_fork(after_in_child=_forget_threads_after_fork)


async def in_thread(func: Callable[[], T]) -> T:
    """Await ``func()`` run in a health-check thread; cancelling abandons the thread's work.

    .. versionadded:: 0.1
    """
    return await asyncio.wrap_future(_pool.submit(func))
