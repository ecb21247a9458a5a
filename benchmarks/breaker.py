"""Cost of one protected call of a no-op function, in nanoseconds: ours against the peers.

Run: ``.venv/bin/python benchmarks/breaker.py [REDIS_URL]`` (default: the test
suite's database 14 on 127.0.0.1); needs the ``bench`` dependency group
(pybreaker, circuitbreaker). Every row is a closed breaker and a call that
succeeds, the case that runs on every request of a healthy site. Rows are
measured interleaved, round after round, and each figure is the median over
rounds; the ratios at the end are what the targets are about.
"""

from __future__ import annotations

import statistics
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import django  # noqa: E402
from django.conf import settings  # noqa: E402

ROUNDS = 15
CALLS = 20_000


def noop() -> None:
    return None


def per_call_ns(fn: Callable[[], object], n: int = CALLS) -> float:
    start = time.perf_counter_ns()
    for _ in range(n):
        fn()
    return (time.perf_counter_ns() - start) / n


def main() -> None:
    url = sys.argv[1] if len(sys.argv) > 1 else "redis://127.0.0.1:6379/14"
    settings.configure(
        INSTALLED_APPS=[
            "django.contrib.contenttypes",
            "django.contrib.auth",
            "django_stability",
        ],
        DATABASES={
            "default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}
        },
        USE_TZ=True,
    )
    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)  # breakers read forced states on first use

    import circuitbreaker
    import pybreaker
    import redis

    from django_stability.breakers import BreakerConfig, CircuitBreaker
    from django_stability.state import Engine

    prefix = f"bench-{uuid.uuid4().hex}:"
    memory = Engine()
    shared = Engine(url, key_prefix=prefix)
    ours_local = CircuitBreaker("bench-local", BreakerConfig(), engine=memory)
    ours_shared = CircuitBreaker("bench-shared", BreakerConfig(), engine=shared)
    client = redis.Redis.from_url(url)
    py_memory = pybreaker.CircuitBreaker(fail_max=5, reset_timeout=30)
    py_redis = pybreaker.CircuitBreaker(
        fail_max=5,
        reset_timeout=30,
        state_storage=pybreaker.CircuitRedisStorage(
            pybreaker.STATE_CLOSED, client, namespace=prefix + "pybreaker"
        ),
    )
    cb = circuitbreaker.CircuitBreaker(failure_threshold=5, recovery_timeout=30)

    rows: dict[str, tuple[Callable[[], object], int]] = {
        "plain call": (noop, CALLS),
        "ours, in-process": (ours_local(noop), CALLS),
        "ours, Redis shared state": (ours_shared(noop), CALLS),
        "ours, `with` block, Redis": (lambda: _with(ours_shared), CALLS),
        "circuitbreaker": (cb(noop), CALLS),
        "pybreaker, memory": (py_memory(noop), CALLS),
        "pybreaker, CircuitRedisStorage": (py_redis(noop), 500),
    }
    samples: dict[str, list[float]] = {name: [] for name in rows}
    for fn, n in rows.values():  # warm-up: first Redis sync, script load
        per_call_ns(fn, min(n, 500))
    for round_ in range(ROUNDS):
        names = list(rows)
        shift = round_ % len(names)
        for name in names[shift:] + names[:shift]:
            fn, n = rows[name]
            samples[name].append(per_call_ns(fn, n))
    medians = {name: statistics.median(values) for name, values in samples.items()}

    width = max(len(name) for name in rows)
    print(f"{'protected no-op call (closed)':<{width}}  {'ns/call':>10}")
    for name, ns in medians.items():
        print(f"{name:<{width}}  {ns:10,.0f}")
    local, remote = medians["ours, in-process"], medians["ours, Redis shared state"]
    print()
    print(
        f"ours in-process / circuitbreaker:        {local / medians['circuitbreaker']:.2f}  (target <= 1)"
    )
    print(
        f"ours shared / ours in-process:           {remote / local:.2f}  (target <= 2)"
    )
    print(
        f"pybreaker Redis storage / ours shared:   {medians['pybreaker, CircuitRedisStorage'] / remote:,.0f}x  (target >= 100x)"
    )

    for key in client.scan_iter(match=prefix + "*"):
        client.delete(key)
    client.close()
    shared.close()


def _with(b: object) -> None:
    with b:  # type: ignore[attr-defined]
        noop()


if __name__ == "__main__":
    main()
