"""Latency of ``GET stability/health/ready`` against a plain django-health-check view.

Both answer the same question with the same two checks, database and cache:
ours is ``stability/health/ready`` (default readiness checks), theirs a
``HealthCheckView`` with ``health_check.checks.Database`` and ``Cache``. Each
request goes through Django's real WSGI handler (test ``Client``) or ASGI
handler (``AsyncClient``), no middleware, one at a time.

Ours is measured twice: as deployed (a result is reused for up to 1 s, so
most probes do no I/O), and with that cache off (``max_age=0``: every probe
runs both checks), which is the like-for-like comparison.

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
VARIANTS = ("ours", "ours-uncached", "django-health-check")
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
        "ours-uncached": "/stability/health/ready",
        "django-health-check": "/peer/?format=json",
    }


def measure(requests: int) -> dict[str, dict[str, list[float]]]:
    """Per variant and mode, per-request milliseconds; batches interleaved across variants."""
    from asgiref.sync import async_to_sync
    from django.test import AsyncClient, Client

    from django_stability.health import ProbeSet, use_probes

    client, aclient = Client(), AsyncClient()
    paths = _paths()
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
                status = (await aclient.get(path)).status_code
                times.append((time.perf_counter() - start) * 1000)
                check(variant, mode, status)
            return times

        return async_to_sync(abatch)()

    for variant in VARIANTS:  # warm-up: pools, clients, imports
        for mode in MODES:
            batch(variant, mode, 20)
    rounds = max(1, requests // BATCH)
    for round_ in range(rounds):
        order = VARIANTS[round_ % 3 :] + VARIANTS[: round_ % 3]
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
        f"{BATCH} interleaved across variants. Database + cache checks in all three; "
        '"uncached" runs both checks on every request (like django-health-check), '
        '"as deployed" reuses a result for up to 1 s.',
        "",
        "| backend | handler | ours as deployed, median / p99 ms | ours uncached, median / p99 ms "
        "| django-health-check 4.8, median / p99 ms | uncached ÷ peer (median) |",
        "|---|---|--:|--:|--:|--:|",
    ]
    for result in results:
        summary = result["summary"]
        label = {"sqlite": "SQLite + LocMem", "postgres": "PostgreSQL (pool) + Redis"}[
            result["backend"]
        ]
        for mode in MODES:
            cells = [
                f"{summary[v][mode]['median_ms']:.2f} / {summary[v][mode]['p99_ms']:.2f}"
                for v in VARIANTS
            ]
            ratio = (
                summary["ours-uncached"][mode]["median_ms"]
                / summary["django-health-check"][mode]["median_ms"]
            )
            lines.append(
                f"| {label} | {mode.upper()} | {' | '.join(cells)} | {ratio:.2f} |"
            )
    return "\n".join(lines)
