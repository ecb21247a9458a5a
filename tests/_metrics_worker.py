"""A worker process for the multiprocess metrics test: serve N requests in-process, then exit.

Run as ``python -m tests._metrics_worker N`` with ``PROMETHEUS_MULTIPROC_DIR``
set; prometheus-client then writes this process's counts to files there.
"""

from __future__ import annotations

import os
import sys


def main(count: int) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")
    import django

    django.setup()
    from django.test import Client

    client = Client()
    for _ in range(count):
        assert client.get("/api/ok/").status_code == 200


if __name__ == "__main__":
    main(int(sys.argv[1]))
