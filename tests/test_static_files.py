"""The example served as deployed (DEBUG off, collectstatic run, an ASGI server, no proxy): its pages load their scripts.

With DEBUG off nothing served ``/static/``, so ``stability.js`` and the
admin's CSS were 404 under the deployed server: autosave, live updates and
version watching were dead in production. The example now serves
collectstatic's output with WhiteNoise, as the image builds it.
"""

from __future__ import annotations

import gzip
import re
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.realtime.servers import uvicorn_command

ROOT = Path(__file__).resolve().parents[1]
STARTUP = 90.0  # a bound on a loaded machine, not a target
YEAR = 365 * 24 * 3600


def get(url: str, **headers: str) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(url, headers=headers)
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.status, dict(response.headers.items()), response.read()


@pytest.fixture(scope="module")
def deployed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """collectstatic as the image runs it, then uvicorn with DEBUG off; the base URL."""
    tmp = tmp_path_factory.mktemp("deployed")
    env = {
        "PATH": "/usr/bin:/bin",
        "DRAIN_SECONDS": "0",  # stopped with SIGTERM: no drain window
        "PYTHONPATH": str(ROOT),
        "DJANGO_SETTINGS_MODULE": "example_project.settings",
        "DEBUG": "0",
        "SECRET_KEY": "static-files-test-" + "x" * 40,
        "ALLOWED_HOSTS": "127.0.0.1",
        "HTTPS": "0",  # plain HTTP on loopback: no redirect to https
        "STATIC_ROOT": str(tmp / "static"),
        "DATABASE_URL": f"sqlite:///{tmp / 'db.sqlite3'}",
        "RATELIMIT": "off",
    }
    for command in (["collectstatic", "--noinput"], ["migrate", "--noinput"]):
        subprocess.run(
            [sys.executable, "example_project/manage.py", *command],
            cwd=ROOT, env=env, check=True, capture_output=True, timeout=300,
        )  # fmt: skip
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    log = (tmp / "server.log").open("wb")
    server = subprocess.Popen(
        uvicorn_command("example_project.asgi:application", port),
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + STARTUP
        while True:
            assert server.poll() is None, (tmp / "server.log").read_text()[-2000:]
            try:
                get(base + "/stability/health/live")
                break
            except OSError:
                assert time.monotonic() < deadline, "uvicorn did not answer in time"
                time.sleep(0.1)
        yield base
    finally:
        server.terminate()
        server.wait(20)
        log.close()


def test_the_page_loads_stability_js_cached_for_a_year(deployed: str) -> None:
    """The page names the hashed script; it answers 200, immutable for a year, and gzipped on request."""
    status, _, page = get(deployed + "/")
    assert status == 200
    found = re.search(
        rb'from "(/static/django_stability/stability\.[0-9a-f]{12}\.js)"', page
    )
    assert found, page[:2000]
    script = deployed + found.group(1).decode()
    status, headers, body = get(script)
    assert status == 200
    assert b"export function autosave" in body
    cache = headers["Cache-Control"]
    assert "immutable" in cache and f"max-age={YEAR * 10}" in cache, cache
    status, headers, packed = get(script, **{"Accept-Encoding": "gzip"})
    assert headers.get("Content-Encoding") == "gzip"
    assert gzip.decompress(packed) == body


def test_the_admin_login_page_loads_its_css(deployed: str) -> None:
    status, _, page = get(deployed + "/admin/login/")
    assert status == 200
    sheets = re.findall(rb'href="(/static/admin/css/[^"]+\.css)"', page)
    assert sheets and all(re.search(rb"\.[0-9a-f]{12}\.css$", s) for s in sheets)
    for sheet in sheets:
        assert get(deployed + sheet.decode())[0] == 200


def test_the_plain_name_is_served_too_with_a_short_cache(deployed: str) -> None:
    """Code importing /static/django_stability/stability.js by name still gets it, revalidated soon."""
    status, headers, _ = get(deployed + "/static/django_stability/stability.js")
    assert status == 200
    assert "immutable" not in headers["Cache-Control"]
