"""Redis clients for the engine: one sync client per process, one async client per event loop.

An asyncio client and its pool belong to the event loop they first ran on, so
the async client is cached per running loop and closed when that loop shuts
down (``asyncio.run``, ``asyncio.Runner``, uvicorn, asgiref and pytest-asyncio
all call ``loop.shutdown_asyncgens()`` before closing a loop; a small async
generator registered with the loop does the closing there).

Both pools are *blocking* pools: when every connection is busy a caller waits
(up to ``pool_timeout``) instead of failing at once, which is what keeps a burst
such as a mass WebSocket disconnect from turning into ``MaxConnectionsError``.

Operations on the sync side (every rate-limit hit, every breaker event) do not
go through the pool: each thread keeps one connection of its own, made with the
pool's options, and talks to it with redis-py's ``send_command`` /
``read_response``. A thread only ever runs one command at a time, so it never
needs a second connection, and skipping the pool's checkout, release and retry
wrappers saves about a third of a round trip's client-side cost. The pool stays
for the other commands (``PING``, the raw client of :meth:`Engine.client`).
"""

from __future__ import annotations

import asyncio
import os
import threading
import weakref
from collections.abc import AsyncGenerator
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import redis
import redis.asyncio
import redis.asyncio.retry
import redis.backoff
import redis.exceptions
import redis.retry
from django.core.exceptions import ImproperlyConfigured

from django_stability.state._ops import Operation

RedisError = redis.exceptions.RedisError

#: Errors meaning "Redis cannot serve us now": the engine degrades instead of raising.
OUTAGE_ERRORS: tuple[type[Exception], ...] = (
    redis.exceptions.ConnectionError,  # refused, reset, auth, LOADING, pool wait timed out
    redis.exceptions.TimeoutError,
    redis.exceptions.ReadOnlyError,  # a failover left us talking to a replica
    redis.exceptions.OutOfMemoryError,
    redis.exceptions.ClusterDownError,  # also MASTERDOWN
    OSError,  # socket errors redis-py does not wrap; asyncio's TimeoutError too
)


# Any: redis-py's Connection methods are untyped.
def _evalsha(
    conn: Any,
    op: Operation[Any],
    keys: list[str],
    args: list[str],
) -> Any:
    conn.send_command("EVALSHA", op.sha, len(keys), *keys, *args)
    try:
        return conn.read_response()
    except redis.exceptions.NoScriptError:
        conn.send_command("EVAL", op.lua, len(keys), *keys, *args)
        return conn.read_response()


#: What a malformed STABILITY_REDIS_URL is told: never the URL, its password or the parser's text.
MALFORMED = (
    "STABILITY_REDIS_URL is not a usable Redis URL: expected "
    "redis://[[user]:password@]host[:port][/db], rediss://... or "
    "unix:///path/to/socket, with reserved and non-ASCII characters of the "
    "user and password percent-encoded"
)


def redact(url: str) -> str:
    """``url`` without its password, fit for logs and status pages.

    Raises:
        ValueError: ``url`` cannot be parsed (the message quotes no part of it).
    """
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - urllib validates the port lazily, on access
    except ValueError:
        raise ValueError("malformed URL") from None
    if parts.password is None:
        return url
    netloc = parts.netloc.rpartition("@")[2]
    user = f"{parts.username}:" if parts.username else ":"
    return urlunsplit(parts._replace(netloc=f"{user}***@{netloc}"))


class RedisBackend:
    """The sync client and the per-loop async clients for one Redis URL."""

    def __init__(
        self,
        url: str,
        *,
        connect_timeout: float,
        timeout: float,
        max_connections: int,
        pool_timeout: float,
    ) -> None:
        try:
            self.url = redact(url)
        except ValueError:
            raise ImproperlyConfigured(MALFORMED) from None
        self._url = url
        # Query-string options in the URL (``?socket_timeout=2``) win over these.
        self._options: dict[str, Any] = {
            "socket_connect_timeout": connect_timeout,
            "socket_timeout": timeout,
            "max_connections": max_connections,
            "timeout": pool_timeout,
            "decode_responses": True,
        }
        # One immediate retry on a connection error, no backoff: it reconnects
        # a pooled connection that died (Redis restarted, idle timeout) without
        # declaring an outage; a real outage then fails fast on the second try.
        # Timeouts are not retried, so a hung Redis costs one timeout per call.
        try:
            pool = redis.BlockingConnectionPool.from_url(
                url,
                retry=redis.retry.Retry(
                    redis.backoff.NoBackoff(), 1, (redis.exceptions.ConnectionError,)
                ),
                **self._options,
            )
        except ValueError:
            # redis-py's message may quote the URL: neither it nor its cause is kept.
            raise ImproperlyConfigured(MALFORMED) from None
        self.sync = redis.Redis.from_pool(pool)
        self._pool = pool
        self._local = threading.local()
        # Every thread's connection, to close them all in close(); a thread that
        # ends drops its connection, and the set forgets it.
        self._connections: weakref.WeakSet[Any] = weakref.WeakSet()
        self._lock = threading.Lock()
        self._loops: dict[
            asyncio.AbstractEventLoop,
            tuple[redis.asyncio.Redis, AsyncGenerator[None, None]],
        ] = {}

    def run(self, op: Operation[Any], keys: list[str], args: list[str]) -> Any:
        """Run ``op`` with ``EVALSHA`` on this thread's connection, sending the script once if Redis lacks it.

        A connection error is retried once at once on a new connection (the
        old one died: Redis restarted, an idle timeout); a timeout is not.
        """
        conn = self._connection()
        try:
            return _evalsha(conn, op, keys, args)
        except redis.exceptions.ConnectionError:
            conn.disconnect()
            try:
                return _evalsha(conn, op, keys, args)
            except BaseException:
                conn.disconnect()
                raise
        except redis.exceptions.ResponseError:
            raise  # the reply was read whole: the connection is still in step
        except BaseException:
            # A timeout or an interruption mid-reply leaves unread bytes behind.
            conn.disconnect()
            raise

    def _connection(self) -> Any:
        """This thread's connection, made on first use (and anew in a forked child)."""
        local = self._local
        pid = os.getpid()
        if getattr(local, "pid", None) != pid:
            # Not pool.make_connection(): the pool would keep it in its own list.
            pool = self._pool
            conn = pool.connection_class(**pool.connection_kwargs)
            local.conn, local.pid = conn, pid
            with self._lock:
                self._connections.add(conn)
        return local.conn

    async def arun(self, op: Operation[Any], keys: list[str], args: list[str]) -> Any:
        """The async twin of :meth:`run`, on this event loop's client."""
        client = await self.aclient()
        try:
            return await client.evalsha(op.sha, len(keys), *keys, *args)
        except redis.exceptions.NoScriptError:
            return await client.eval(op.lua, len(keys), *keys, *args)

    async def aclient(self) -> redis.asyncio.Redis:
        """The running loop's client, opened on first use."""
        entry = self._loops.get(asyncio.get_running_loop())
        return entry[0] if entry is not None else await self._open()

    async def _open(self) -> redis.asyncio.Redis:
        loop = asyncio.get_running_loop()
        pool = redis.asyncio.BlockingConnectionPool.from_url(
            self._url,
            retry=redis.asyncio.retry.Retry(
                redis.backoff.NoBackoff(), 1, (redis.exceptions.ConnectionError,)
            ),
            **self._options,
        )
        client = redis.asyncio.Redis.from_pool(pool)
        closer = self._close_with_loop(loop, client)
        with self._lock:
            # Loops closed without shutdown_asyncgens() cannot be cleaned up
            # any more; forget them so this dict does not grow.
            for old in [old for old in self._loops if old.is_closed()]:
                del self._loops[old]
            self._loops[loop] = (client, closer)
        # First iteration registers the generator with the loop (its asyncgen
        # hooks); it does not suspend, so no other task can race this one.
        await anext(closer)
        return client

    async def _close_with_loop(
        self, loop: asyncio.AbstractEventLoop, client: redis.asyncio.Redis
    ) -> AsyncGenerator[None, None]:
        try:
            yield
        finally:
            with self._lock:
                self._loops.pop(loop, None)
            await client.aclose()

    async def aclose(self) -> None:
        """Close the running loop's client now rather than at loop shutdown."""
        entry = self._loops.get(asyncio.get_running_loop())
        if entry is not None:
            await entry[1].aclose()

    def close(self) -> None:
        """Close the sync client's connections (they reopen on next use)."""
        self.sync.close()
        with self._lock:
            connections = list(self._connections)
        for conn in connections:
            conn.disconnect()
