"""A process that takes a place of a shared bulkhead on Redis and keeps it until it is killed.

Started as ``python -m tests.bulkhead._holder URL NAME NOW``: it enters the
bulkhead ``NAME`` (one place, a 5-second lease) at time ``NOW`` on the
caller's clock, prints ``held``, and then waits on stdin forever.
"""

from __future__ import annotations

import sys


def main() -> None:
    url, name, now = sys.argv[1], sys.argv[2], float(sys.argv[3])
    from django.conf import settings

    settings.configure(
        INSTALLED_APPS=["django_stability"],
        USE_TZ=True,
        LOGGING_CONFIG=None,
        STABILITY_REDIS_URL=url,
        STABILITY_BULKHEADS={name: {"max_concurrent": 1, "shared": True, "lease": 5}},
    )
    import django

    django.setup()
    from django_stability.bulkhead import Bulkhead
    from django_stability.state import get_engine

    with Bulkhead(name, clock=lambda: now):
        assert get_engine().mode == "redis"
        print("held", flush=True)
        sys.stdin.read()  # until the test kills this process


if __name__ == "__main__":
    main()
