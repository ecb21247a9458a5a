"""Headless Chromium and a real runserver of the example project, for the browser tests.

Needs the system's Chromium at /usr/bin/chromium (Debian's package
``chromium``) and Playwright for Python; it never downloads a browser. Without
them the browser tests are skipped, and fail instead with STABILITY_REQUIRE_SERVICES=1.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import pytest

from tests import services

CHROMIUM = os.environ.get("STABILITY_TEST_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ROOT = Path(__file__).resolve().parents[2]
PROJECT = ROOT / "example_project"
STARTUP = 90  # seconds for the server to answer at most (a loaded machine is slow)
WAIT = 20_000  # ms for a page condition (the autosave debounce is 2 s, its retry 5 s)
SAVED = re.compile(r"^Saved at \d\d:\d\d$")
OFFLINE = "Offline - saved on this device"
KEY = "notes:new"


def _need(condition: bool, what: str) -> None:
    if condition:
        return
    if services.REQUIRE:
        pytest.fail(f"STABILITY_REQUIRE_SERVICES=1 but {what}", pytrace=False)
    pytest.skip(what)


@pytest.fixture(scope="module")
def sync_playwright() -> Any:
    """Playwright's sync API, when it and the system's Chromium are installed."""
    _need(
        Path(CHROMIUM).exists(), f"no Chromium at {CHROMIUM} (apt-get install chromium)"
    )
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:  # pragma: no cover - the test dependency group installs it
        _need(False, "playwright is not installed (pip install playwright)")
    return sync_playwright


class Server:
    """The example project under ``manage.py runserver --noreload``, started and stopped by the test."""

    def __init__(self, tmp: Path) -> None:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.base = f"http://127.0.0.1:{self.port}"
        self.log = tmp / "server.log"
        self.env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "example_project.settings",
            "PYTHONPATH": str(ROOT),
            "DATABASE_URL": f"sqlite:///{tmp / 'browser.sqlite3'}",
            "DEBUG": "1",  # runserver serves stability.js from the app's static folder
            "APP_VERSION": "v1",
            "DJANGO_SUPERUSER_PASSWORD": "browser-test-password",
        }
        self.env.pop(
            "PYTHONDEVMODE", None
        )  # the server's own warnings are not this test's
        self.process: subprocess.Popen[bytes] | None = None

    def manage(self, *args: str) -> None:
        subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=PROJECT,
            env=self.env,
            check=True,
            capture_output=True,
            timeout=120,
        )

    def start(self, **env: str) -> None:
        self.env.update(env)
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    "manage.py",
                    "runserver",
                    "--noreload",
                    f"127.0.0.1:{self.port}",
                ],
                cwd=PROJECT,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + STARTUP
        while True:
            assert self.process.poll() is None, self.log.read_text()[-2000:]
            try:
                with urllib.request.urlopen(
                    self.base + "/stability/version", timeout=1
                ):
                    return
            except OSError:
                assert time.monotonic() < deadline, "the server did not answer in time"
                time.sleep(0.1)

    def stop(self) -> None:
        if self.process is None:
            return
        self.process.terminate()
        try:
            self.process.wait(10)
        except (
            subprocess.TimeoutExpired
        ):  # pragma: no cover - runserver stops on SIGTERM
            self.process.kill()
            self.process.wait(10)
        self.process = None


S = TypeVar("S", bound=Server)


@contextmanager
def serving(server: S) -> Iterator[S]:
    """Migrate ``server``'s project, create the test user, start it; stop it afterwards."""
    server.manage("migrate", "--noinput")
    server.manage(
        "createsuperuser",
        "--noinput",
        "--username",
        "writer",
        "--email",
        "w@example.com",
    )
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    """A migrated example project with one user, serving on a free loopback port."""
    with serving(Server(tmp_path)) as started:
        yield started


@pytest.fixture
def browser(sync_playwright: Any) -> Iterator[Any]:
    """Headless Chromium, the system's."""
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS
        )
        try:
            yield browser
        finally:
            browser.close()


def log_in(page: Any, base: str) -> None:
    page.goto(f"{base}/admin/login/?next=/")
    page.fill("#id_username", "writer")
    page.fill("#id_password", "browser-test-password")
    page.click("input[type=submit]")
    page.wait_for_url(f"{base}/", timeout=WAIT)


def local_copy(page: Any) -> Any:
    # The example scopes the device copy by user id; the only user is the first one.
    return page.evaluate(f"JSON.parse(localStorage.getItem('stability:draft:1:{KEY}'))")
