"""SIGTERM on the kit's server: drain while still serving, then exit within the grace.

gunicorn with ``deploy/gunicorn.conf.py``, as the image starts it, on the
example's ASGI application (uvicorn workers) and on its WSGI application
(gunicorn's sync workers). After a SIGTERM to the master, readiness answers
503 ``"draining"`` for ``DRAIN_SECONDS`` while pages are still served (the
load balancer's window to take the instance out), then the server exits,
well within ``GRACEFUL_TIMEOUT``. Before the wiring, uvicorn stopped at once:
readiness never said "draining" and the port refused at once.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests import services
from tests.deploy.kit import ROOT, Instance, get, manage, wait_until

DRAIN = 4


@pytest.fixture(params=["asgi", "wsgi"])
def server(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Instance]:
    env = {
        **services.coverage_env(),
        "PATH": "/usr/bin:/bin",
        "PYTHONPATH": str(ROOT),
        "DJANGO_SETTINGS_MODULE": "example_project.settings",
        "DEBUG": "0",
        "SECRET_KEY": "graceful-shutdown-test-" + "x" * 40,
        "ALLOWED_HOSTS": "127.0.0.1",
        "HTTPS": "0",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        "RATELIMIT": "off",
        "WEB_CONCURRENCY": "2",
        "DRAIN_SECONDS": str(DRAIN),
        "GRACEFUL_TIMEOUT": "20",
        "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "metrics"),
    }
    (tmp_path / "metrics").mkdir()
    manage(env, "migrate", "--noinput")
    instance = Instance(request.param, env, tmp_path / "server.log")
    if request.param == "wsgi":  # gunicorn's own sync workers on wsgi.py
        instance.app = "example_project.wsgi:application"
        instance.options = ("--worker-class", "sync")
    instance.start()
    try:
        instance.wait_ready()
        yield instance
    finally:
        instance.stop()


def test_sigterm_drains_while_serving_then_exits(server: Instance) -> None:
    """503 "draining" on readiness and 200 on the page during the drain; then the process is gone in time."""
    assert server.process is not None
    assert get(server.url + "/")[0] == 200
    server.process.terminate()

    def readiness() -> tuple[int, str]:
        status, _, body = get(server.url + "/stability/health/ready", timeout=5)
        return status, json.loads(body).get("status", "")

    # The master passes the SIGTERM on to its workers: the first answer may still be ready.
    wait_until(lambda: readiness() == (503, "draining"), "readiness draining", 10)
    began = time.monotonic()
    answers: list[tuple[int, str]] = []
    pages: list[int] = []
    while time.monotonic() - began < DRAIN / 2:  # inside the window, with a margin
        answers.append(readiness())
        pages.append(get(server.url + "/", timeout=5)[0])
        time.sleep(0.1)

    assert answers and set(answers) == {(503, "draining")}, answers
    assert set(pages) == {200}, pages
    server.process.wait(20)  # GRACEFUL_TIMEOUT: the master kills what is left after it
    assert "Traceback" not in server.tail(), server.tail()
