"""A worker process for the multiprocess probe-metrics test: answer one readiness probe, then exit.

Run as ``python -m tests.health._probe_worker OUTCOME`` with
``PROMETHEUS_MULTIPROC_DIR`` set. ``ok`` and ``fail`` answer with a check
that passes or fails, ``drain`` answers while draining, ``idle`` only loads
the application and its metrics, as a worker no probe has reached yet, and
``front`` answers through ``with_health_probes()``, in front of Django. The
last line printed is the process id.
"""

from __future__ import annotations

import asyncio
import os
import sys
from dataclasses import dataclass

from health_check.base import HealthCheck
from health_check.exceptions import ServiceUnavailable


@dataclass
class Outcome(HealthCheck):
    def key(self) -> str:
        return "dependency"

    async def run(self) -> None:
        if sys.argv[1] == "fail":
            raise ServiceUnavailable("down")


def main(outcome: str) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")
    import django

    django.setup()
    from django.test import Client, override_settings

    from django_stability import metrics  # noqa: F401 - as the middleware loads it
    from django_stability.health._drain import start_local_drain

    print(os.getpid())
    if outcome == "idle":
        return
    if outcome == "front":
        asyncio.run(_in_front())
        return
    if outcome == "drain":
        start_local_drain()
    # By dotted path: run as __main__, this module is imported again under its name.
    with override_settings(
        STABILITY_READINESS_CHECKS=["tests.health._probe_worker.Outcome"]
    ):
        status = Client().get("/stability/health/ready").status_code
    assert status == (200 if outcome == "ok" else 503), status


async def _in_front() -> None:
    from django.core.asgi import get_asgi_application

    from django_stability.health import with_health_probes
    from tests.health.test_asgi_probes import call

    app = with_health_probes(get_asgi_application())
    assert (await call(app, "/stability/health/live")).status == 200


if __name__ == "__main__":
    main(sys.argv[1])
