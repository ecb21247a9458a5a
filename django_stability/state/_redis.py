"""Redis clients for the engine: a connection per thread, a sync pool, an async client per event loop."""

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
        try:
            pool = self._pool_of(redis)
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

    def _pool_of(self, module: Any) -> Any:
        """A blocking pool of ``redis`` or ``redis.asyncio``, retrying a connection error once, at once."""
        retry = module.retry.Retry(
            redis.backoff.NoBackoff(), 1, (redis.exceptions.ConnectionError,)
        )
        return module.BlockingConnectionPool.from_url(
            self._url, retry=retry, **self._options
        )

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
        client = redis.asyncio.Redis.from_pool(self._pool_of(redis.asyncio))
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

    def close(self, *, every_loop: bool = False) -> None:
        """Close the sync client's connections (they reopen on next use); with ``every_loop``, each loop's client too."""
        self.sync.close()
        with self._lock:
            connections = list(self._connections)
            loops = list(self._loops.items()) if every_loop else []
        for conn in connections:
            conn.disconnect()
        for loop, (client, closer) in loops:
            if loop.is_running():  # else it closes the client when it shuts down
                finish = _finish(client, closer)
                try:
                    asyncio.run_coroutine_threadsafe(finish, loop)
                except RuntimeError:  # closed meanwhile, and its shutdown closed it
                    finish.close()


async def _finish(
    client: redis.asyncio.Redis, closer: AsyncGenerator[None, None]
) -> None:
    try:
        # The client first: cut short (the loop stopping), the closer still
        # closes it when the loop shuts down.
        await client.aclose()
        await closer.aclose()
    except Exception:  # a dead Redis: the sockets go with the loop
        pass
