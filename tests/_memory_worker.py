"""A worker process for the process-metrics test: hold some memory, serve N requests, print its pid.

Run as ``python -m tests._memory_worker MEGABYTES REQUESTS`` with
``PROMETHEUS_MULTIPROC_DIR`` set. The requests are what refreshes a worker's
memory and CPU; with 0 it is a worker no request has reached yet.
"""

from __future__ import annotations

import os
import sys


def main(megabytes: int, requests: int) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")
    import django

    django.setup()
    from django.test import Client

    from django_stability import metrics  # noqa: F401 - as the middleware loads it

    # Written byte by byte (not calloc'd zeros), so every page is resident.
    held = b"x" * (megabytes << 20)
    client = Client()
    for _ in range(requests):
        assert client.get("/api/ok/").status_code == 200
    print(os.getpid(), len(held))


if __name__ == "__main__":
    main(int(sys.argv[1]), int(sys.argv[2]))
