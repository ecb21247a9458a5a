"""A project with django-prometheus and django-stability together, run in a process of its own.

``python -m tests._with_django_prometheus N`` serves N requests to
``/api/ok/`` through both apps' middleware, then prints, as JSON, the status
and correlation header of the last one and the text of both expositions:
django-prometheus's ``/metrics`` and our ``/stability/metrics``. A process of
its own, because django-prometheus registers its metrics in the default
registry at import, which the rest of the suite should not see.
"""

from __future__ import annotations

import json
import os
import sys


def main(count: int) -> None:
    os.environ["DJANGO_SETTINGS_MODULE"] = "tests.settings"
    import django
    from django.conf import settings

    settings.INSTALLED_APPS = [*settings.INSTALLED_APPS, "django_prometheus"]
    settings.MIDDLEWARE = [
        "django_prometheus.middleware.PrometheusBeforeMiddleware",
        *settings.MIDDLEWARE,
        "django_prometheus.middleware.PrometheusAfterMiddleware",
    ]
    settings.ROOT_URLCONF = "tests.urls_with_django_prometheus"
    django.setup()
    from django.test import Client

    client = Client()
    for _ in range(count):
        last = client.get("/api/ok/")
    print(
        json.dumps(
            {
                "status": last.status_code,
                "correlation_id": last.get("X-Correlation-ID"),
                "theirs": client.get("/metrics").content.decode(),
                "ours": client.get("/stability/metrics").content.decode(),
            }
        )
    )


if __name__ == "__main__":
    main(int(sys.argv[1]))
