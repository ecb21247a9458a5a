"""Latency of ``GET stability/health/ready`` against a plain django-health-check view.

Both answer the same question with the same two checks, database and cache:
ours is ``stability/health/ready`` (default readiness checks), theirs a
``HealthCheckView`` with ``health_check.checks.Database`` and ``Cache``. Each
request goes through Django's real WSGI handler (test ``Client``) or ASGI
handler (``django.core.asgi.get_asgi_application()``, called the way a server
calls it), no middleware, one at a time.

Ours is measured as deployed (a result is reused for up to 1 s, so most
probes do no I/O; under ASGI the application is wrapped in
``with_health_probes()``, as the docs recommend), as deployed but through
Django's handler and our view (ASGI only: under WSGI that *is* the
deployment), and with the cache off (``max_age=0``: every probe runs both
checks, through the view), which is the like-for-like comparison.

Run: ``python benchmarks/health.py sqlite|postgres [--requests N]``; it prints
one JSON object (``benchmarks/run.py`` renders it). ``postgres`` uses the
PostgreSQL at ``STABILITY_BENCH_POSTGRES_URL`` (default the test server's
``test`` database) through psycopg's pool, and Redis at
``STABILITY_BENCH_REDIS_URL`` (database 14, keys under ``stability-bench:``)
for the cache and the shared-state engine.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

POSTGRES_URL = os.environ.get(
    "STABILITY_BENCH_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/test"
)
REDIS_URL = os.environ.get("STABILITY_BENCH_REDIS_URL", "redis://127.0.0.1:6379/14")
VARIANTS = ("ours", "ours-view", "ours-uncached", "django-health-check")
MODES = ("wsgi", "asgi")
BATCH = 50


def configure(backend: str) -> None:
    import django
    from django.conf import settings

    from django_stability.db import database_from_env

    if backend == "postgres":
        env = {"DATABASE_URL": POSTGRES_URL, "DB_POOL_MIN": "2", "DB_POOL_MAX": "4"}
        caches = {
            "default": {
                "BACKEND": "django_redis.cache.RedisCache",
                "LOCATION": REDIS_URL,
                "KEY_PREFIX": "stability-bench",
            }
        }
        redis_url: str | None = REDIS_URL
    else:
        env = {"DATABASE_URL": "sqlite://:memory:"}
        caches = {
            "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
        }
        redis_url = None
    settings.configure(
        DEBUG=False,
        SECRET_KEY="benchmark-only",
        ALLOWED_HOSTS=["testserver"],
        ROOT_URLCONF="benchmarks._health_urls",
        INSTALLED_APPS=[
            "django.contrib.contenttypes",
            "django.contrib.auth",
            "health_check",
            "django_stability",
        ],
        MIDDLEWARE=[],
        TEMPLATES=[
            {
                "BACKEND": "django.template.backends.django.DjangoTemplates",
                "APP_DIRS": True,
            }
        ],
        DATABASES={"default": database_from_env(env)},
        CACHES=caches,
        STABILITY_REDIS_URL=redis_url,
        USE_TZ=True,
        LOGGING_CONFIG=None,
    )
    django.setup()


def _paths() -> dict[str, str]:
    return {
        "ours": "/stability/health/ready",
        "ours-view": "/stability/health/ready",
        "ours-uncached": "/stability/health/ready",
        "django-health-check": "/peer/?format=json",
    }


def _asgi_get(app: Any, target: str) -> Any:
    """One GET through ``app`` as an ASGI server makes it; returns the status."""
    path, _, query = target.partition("?")
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": query.encode(),
        "headers": [(b"host", b"testserver")],
        "client": ("127.0.0.1", 40000),
        "server": ("127.0.0.1", 8000),
    }

    async def get() -> int:
        import asyncio

        status = 0
        delivered = False
        done = asyncio.Event()

        async def receive() -> dict[str, Any]:
            nonlocal delivered
            if not delivered:
                delivered = True
                return {"type": "http.request", "body": b"", "more_body": False}
            await done.wait()  # the client stays until the response is sent
            return {"type": "http.disconnect"}

        async def send(message: dict[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            elif not message.get("more_body"):
                done.set()

        await app(scope, receive, send)
        return status

    return get


def measure(requests: int) -> dict[str, dict[str, list[float]]]:
    """Per variant and mode, per-request milliseconds; batches interleaved across variants."""
    from asgiref.sync import async_to_sync
    from django.core.asgi import get_asgi_application
    from django.test import Client

    from django_stability.health import with_health_probes
    from django_stability.health._probes import ProbeSet, use_probes

    client = Client()
    django_asgi = get_asgi_application()
    front = with_health_probes(django_asgi)
    paths = _paths()
    requests_of = {
        variant: _asgi_get(front if variant == "ours" else django_asgi, path)
        for variant, path in paths.items()
    }
    cached, uncached = ProbeSet(), ProbeSet(max_age=0)
    samples: dict[str, dict[str, list[float]]] = {
        v: {m: [] for m in MODES} for v in VARIANTS
    }

    def check(variant: str, mode: str, status: int) -> None:
        if status != 200:
            raise RuntimeError(f"{variant} {mode}: HTTP {status}")

    def batch(variant: str, mode: str, n: int) -> list[float]:
        use_probes(uncached if variant == "ours-uncached" else cached)
        path = paths[variant]
        if mode == "wsgi" and variant == "ours-view":
            return []  # under WSGI, "ours" goes through the view already
        if mode == "wsgi":
            times = []
            for _ in range(n):
                start = time.perf_counter()
                status = client.get(path).status_code
                times.append((time.perf_counter() - start) * 1000)
                check(variant, mode, status)
            return times

        async def abatch() -> list[
            float
        ]:  # one event loop per batch, as a server has one
            times = []
            for _ in range(n):
                start = time.perf_counter()
                status = await requests_of[variant]()
                times.append((time.perf_counter() - start) * 1000)
                check(variant, mode, status)
            return times

        return async_to_sync(abatch)()

    for variant in VARIANTS:  # warm-up: pools, clients, imports
        for mode in MODES:
            batch(variant, mode, 20)
    rounds = max(1, requests // BATCH)
    for round_ in range(rounds):
        shift = round_ % len(VARIANTS)
        order = VARIANTS[shift:] + VARIANTS[:shift]
        for mode in MODES:
            for variant in order:
                samples[variant][mode].extend(batch(variant, mode, BATCH))
    return samples


def summarize(
    samples: dict[str, dict[str, list[float]]],
) -> dict[str, dict[str, dict[str, float]]]:
    out: dict[str, dict[str, dict[str, float]]] = {}
    for variant, by_mode in samples.items():
        out[variant] = {}
        for mode, values in by_mode.items():
            if not values:
                continue
            values = sorted(values)
            out[variant][mode] = {
                "median_ms": statistics.median(values),
                "p99_ms": values[min(len(values) - 1, int(len(values) * 0.99))],
                "requests": len(values),
            }
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("backend", choices=["sqlite", "postgres"])
    parser.add_argument(
        "--requests", type=int, default=1000, help="per variant and mode"
    )
    args = parser.parse_args(argv)
    configure(args.backend)
    summary = summarize(measure(args.requests))
    print(json.dumps({"backend": args.backend, "summary": summary}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())


def markdown(results: list[dict[str, Any]], facts: dict[str, str]) -> str:
    """The ``health`` section of ``docs/performance.md``."""
    lines = [
        "## Readiness probe latency",
        "",
        f"`benchmarks/health.py`, measured {facts['date']} on {facts['machine']}, load average "
        f"{facts['load']} at the start; {facts['versions'].split(',')[0]}. Django's real WSGI and "
        "ASGI handlers in-process, no middleware, one request at a time, batches of "
        f"{BATCH} interleaved across variants. Database + cache checks in all of them; "
        '"uncached" runs both checks on every request (like django-health-check), '
        '"as deployed" reuses a result for up to 1 s and, under ASGI, answers from '
        '`with_health_probes()` before Django\'s handler; "through the view" is the same '
        "cache reached through Django's ASGI handler and our view.",
        "",
        "| backend | handler | ours as deployed | ours as deployed, through the view "
        "| ours uncached | django-health-check 4.8 | as deployed ÷ peer | uncached ÷ peer |",
        "|---|---|--:|--:|--:|--:|--:|--:|",
    ]
    for result in results:
        summary = result["summary"]
        label = {"sqlite": "SQLite + LocMem", "postgres": "PostgreSQL (pool) + Redis"}[
            result["backend"]
        ]
        for mode in MODES:
            cells = [
                f"{summary[v][mode]['median_ms']:.2f} / {summary[v][mode]['p99_ms']:.2f}"
                if mode in summary[v]
                else "(same)"
                for v in VARIANTS
            ]
            peer = summary["django-health-check"][mode]["median_ms"]
            deployed = summary["ours"][mode]["median_ms"] / peer
            uncached = summary["ours-uncached"][mode]["median_ms"] / peer
            lines.append(
                f"| {label} | {mode.upper()} | {' | '.join(cells)} "
                f"| {deployed:.2f} | {uncached:.2f} |"
            )
    lines += ["", "Cells are median / p99 in milliseconds."]
    return "\n".join(lines)
