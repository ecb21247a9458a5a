"""The health loop: one event loop thread per process where every probe runs.

WSGI and ASGI views both hand their probe to this loop, so concurrent probes
from any thread or event loop share one in-flight run and one cached result
(:mod:`django_stability.health._probes`), and the async Redis client the
checks use is opened once for the process, not once per request.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import os
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

__all__ = ["run_async", "run_sync", "stop"]

T = TypeVar("T")

_lock = threading.Lock()
_loop: asyncio.AbstractEventLoop | None = None
_thread: threading.Thread | None = None


def _running_loop() -> asyncio.AbstractEventLoop:
    global _loop, _thread
    with _lock:
        if _loop is None or _thread is None or not _thread.is_alive():
            loop = asyncio.new_event_loop()
            ready = threading.Event()

            def serve() -> None:
                asyncio.set_event_loop(loop)
                loop.call_soon(ready.set)
                loop.run_forever()

            _thread = threading.Thread(
                target=serve, name="stability-health-loop", daemon=True
            )
            _thread.start()
            ready.wait()
            _loop = loop
        return _loop


def _forget_loop_after_fork() -> None:
    # The loop's thread did not survive the fork, and the lock may have been held.
    global _lock, _loop, _thread
    _lock, _loop, _thread = threading.Lock(), None, None


os.register_at_fork(after_in_child=_forget_loop_after_fork)


def submit(coro: Coroutine[Any, Any, T]) -> concurrent.futures.Future[T]:
    """Schedule ``coro`` on the health loop."""
    return asyncio.run_coroutine_threadsafe(coro, _running_loop())


def run_sync(coro: Coroutine[Any, Any, T], seconds: float) -> T:
    """Run ``coro`` on the health loop and wait at most ``seconds`` for it.

    Raises:
        TimeoutError: it did not finish in time (it is cancelled).
    """
    future = submit(coro)
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
        return await asyncio.wrap_future(submit(coro))


def stop(timeout: float = 5.0) -> None:
    """Close the loop's async generators (the engine's per-loop Redis clients) and stop it.

    The next probe starts a new loop. Tests call this between settings.
    """
    global _loop, _thread
    with _lock:
        loop, thread, _loop, _thread = _loop, _thread, None, None
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
