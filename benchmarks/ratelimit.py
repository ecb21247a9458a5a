"""Per-request overhead of rate limiting: our middleware and decorator against django-ratelimit's decorator.

Run: ``.venv/bin/python benchmarks/ratelimit.py [REDIS_URL]`` (default: the
test suite's database 14 on 127.0.0.1). Each row calls a trivial view through
one limiter, in process, with a limit so high it never refuses: the cost a
healthy site pays on every request. "local" is process memory (our engine
without Redis; django-ratelimit on ``LocMemCache``), "Redis" is the Redis at
``REDIS_URL`` (our engine; django-ratelimit on django-redis). Rows run
interleaved, round after round; each figure is the median over rounds minus
the bare view's median. Redis commands per request are counted on the
client side, by wrapping redis-py's ``Connection.send_command``. The
"floor" row is one PING with redis-py: no limiter that makes one round trip
per request can cost less.
"""

from __future__ import annotations

import statistics
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import django  # noqa: E402
from django.conf import settings  # noqa: E402

ROUNDS = 15
CALLS = {"local": 4_000, "Redis": 1_000}
BIG = "1000000/s"  # never reached: we measure the allowed path


def _configure(url: str, prefix: str) -> None:
    settings.configure(
        INSTALLED_APPS=["django.contrib.contenttypes", "django.contrib.auth"],
        DATABASES={
            "default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}
        },
        CACHES={
            "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
            "redis": {
                "BACKEND": "django_redis.cache.RedisCache",
                "LOCATION": url,
                "KEY_PREFIX": prefix,
            },
        },
        # django-ratelimit's own warning about LocMemCache is not our subject here.
        SILENCED_SYSTEM_CHECKS=["django_ratelimit.E003", "django_ratelimit.W001"],
        STABILITY_RATELIMIT=BIG,
        USE_TZ=True,
    )
    django.setup()


class CommandCounter:
    """Counts the Redis commands redis-py sends, from any client in this process."""

    def __init__(self) -> None:
        import redis.connection

        self.count = 0
        cls: Any = redis.connection.AbstractConnection
        original = cls.send_command

        def send_command(conn: Any, *args: Any, **kwargs: Any) -> None:
            self.count += 1
            original(conn, *args, **kwargs)

        cls.send_command = send_command


def per_request_us(call: Callable[[], object], n: int) -> float:
    start = time.perf_counter_ns()
    for _ in range(n):
        call()
    return (time.perf_counter_ns() - start) / n / 1000


def main() -> None:
    url = sys.argv[1] if len(sys.argv) > 1 else "redis://127.0.0.1:6379/14"
    prefix = f"bench-{uuid.uuid4().hex}:"
    _configure(url, prefix)

    import redis
    from django.http import HttpRequest, HttpResponse
    from django.test import RequestFactory
    from django.test.utils import override_settings
    from django_ratelimit.decorators import ratelimit as peer_ratelimit

    from django_stability.middleware import RateLimitMiddleware
    from django_stability.ratelimit import ratelimit
    from django_stability.state import get_engine

    counter = CommandCounter()

    def view(request: HttpRequest) -> HttpResponse:
        return HttpResponse(b"ok")

    # An address of this run: our counters in Redis are found and removed by it.
    address = f"198.18.{uuid.uuid4().int % 256}.{uuid.uuid4().int % 254 + 1}"
    request = RequestFactory().get("/bench/", REMOTE_ADDR=address)

    middleware = RateLimitMiddleware(view)
    ours_decorated = ratelimit(key="ip", rate=BIG)(view)
    peer_local = peer_ratelimit(key="ip", rate=BIG)(view)
    peer_redis = peer_local  # the same decorator: the cache is chosen per request

    pinger = redis.Redis.from_url(url)

    def ping_then_view() -> object:
        pinger.ping()
        return view(request)

    rows: dict[str, tuple[str, Callable[[], object]]] = {
        "bare view": ("local", lambda: view(request)),
        "floor: one redis-py PING": ("Redis", ping_then_view),
        "ours: RateLimitMiddleware, local": ("local", lambda: middleware(request)),
        "ours: RateLimitMiddleware, Redis": ("Redis", lambda: middleware(request)),
        "ours: @ratelimit, local": ("local", lambda: ours_decorated(request)),
        "ours: @ratelimit, Redis": ("Redis", lambda: ours_decorated(request)),
        "django-ratelimit: @ratelimit, LocMemCache": (
            "local",
            lambda: peer_local(request),
        ),
        "django-ratelimit: @ratelimit, django-redis": (
            "Redis",
            lambda: peer_redis(request),
        ),
    }

    def run_row(name: str, rounds: list[float], commands: list[float]) -> None:
        kind, call = rows[name]
        n = CALLS[kind]
        # Our limiters use get_engine(), built from STABILITY_REDIS_URL; django-ratelimit
        # reads RATELIMIT_USE_CACHE per request.
        with override_settings(
            STABILITY_REDIS_URL=url if kind == "Redis" else None,
            RATELIMIT_USE_CACHE="redis" if kind == "Redis" else "default",
        ):
            call()  # warm up: connections, script load
            before = counter.count
            rounds.append(per_request_us(call, n))
            commands.append((counter.count - before) / n)
            get_engine().close()

    timings: dict[str, list[float]] = {name: [] for name in rows}
    commands: dict[str, list[float]] = {name: [] for name in rows}
    for _ in range(ROUNDS):
        for name in rows:
            run_row(name, timings[name], commands[name])

    bare = statistics.median(timings["bare view"])
    print(f"{'row':<46} {'overhead':>10} {'Redis cmds':>11}")
    overhead = {}
    for name in rows:
        if name == "bare view":
            print(f"{name:<46} {bare:>8.1f} us {'(total)':>11}")
            continue
        overhead[name] = statistics.median(timings[name]) - bare
        cmds = statistics.median(commands[name])
        print(f"{name:<46} {overhead[name]:>7.1f} us {cmds:>11.2f}")
    ours_redis = overhead["ours: RateLimitMiddleware, Redis"]
    peer_redis_us = overhead["django-ratelimit: @ratelimit, django-redis"]
    print()
    print(
        f"ours (middleware, Redis) / django-ratelimit + django-redis: "
        f"{ours_redis / peer_redis_us:.2f} (target: at most 0.33)"
    )

    pinger.close()
    client = redis.Redis.from_url(url)
    try:
        for pattern in (prefix + "*", f"stability:rl:*:{address}"):
            keys = list(client.scan_iter(match=pattern, count=1000))
            if keys:
                client.delete(*keys)
    finally:
        client.close()


if __name__ == "__main__":
    main()
