"""The example project served the way the README's quick start serves it, for the journey tests.

``make demo`` runs ``manage.py migrate`` then ``manage.py runserver`` from the
repository root, autoreloader included: :class:`Demo` does the same on a free
port and a throwaway SQLite file. The autoreloader runs the server in a child
process, so the server gets a process group of its own, and stopping it ends
that group (only processes this test started).
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.browser.conftest import (
    ROOT,
    STARTUP,
    Server,
    browser,  # noqa: F401  (a fixture of these tests too)
    server,  # noqa: F401  (the example under runserver --noreload: a fixture too)
    sync_playwright,  # noqa: F401  (the fixture behind it)
)

#: The lines AccessLogMiddleware writes with the example's console renderer (DEBUG on).
ACCESS_LINE = re.compile(r"\[django_stability\.access\] .*")
FIELD = re.compile(r"(\w+)=('[^']*'|\S+)")


def access_lines(text: str) -> list[dict[str, str]]:
    """The access lines of a server log, as their ``key=value`` fields."""
    return [
        {key: value.strip("'") for key, value in FIELD.findall(match.group())}
        for match in ACCESS_LINE.finditer(text)
    ]


class Demo(Server):
    """``python example_project/manage.py runserver`` from the repository root, as ``make demo``."""

    manage_py = str(ROOT / "example_project" / "manage.py")

    def migrate(self) -> str:
        """``manage.py migrate --noinput`` as ``make demo`` runs it; its output."""
        done = subprocess.run(
            [sys.executable, self.manage_py, "migrate", "--noinput"],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
        )
        return done.stdout + done.stderr

    def start(self, *options: str, **env: str) -> None:
        self.env.update(env)
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    self.manage_py,
                    "runserver",
                    *options,
                    f"127.0.0.1:{self.port}",
                ],
                cwd=ROOT,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # the autoreloader's child joins this group
            )
        deadline = time.monotonic() + STARTUP
        while "Next steps" not in self.log.read_text():
            assert self.process.poll() is None, self.log.read_text()[-2000:]
            assert time.monotonic() < deadline, "the server did not start in time"
            time.sleep(0.1)
        with urllib.request.urlopen(f"{self.base}/stability/health/live", timeout=5):
            pass

    def stop(self) -> None:
        if self.process is None:
            return
        group = self.process.pid
        os.killpg(group, signal.SIGTERM)
        self.process.wait(10)
        deadline = time.monotonic() + 10
        while True:
            try:
                os.killpg(group, 0)
            except ProcessLookupError:
                break
            if (
                time.monotonic() > deadline
            ):  # pragma: no cover - runserver stops on SIGTERM
                os.killpg(group, signal.SIGKILL)
                break
            time.sleep(0.05)
        self.process = None


@pytest.fixture
def demo(tmp_path: Path) -> Iterator[Demo]:
    """The example as ``make demo`` serves it, on a throwaway database; the test migrates and starts it."""
    started = Demo(tmp_path)
    started.env.pop("APP_VERSION")  # make demo sets none: the example's default
    yield started
    started.stop()


def record_problems(page: Any, problems: list[str]) -> None:
    """Add the page's console errors and warnings, exceptions and failed requests to ``problems``."""
    page.on(
        "console",
        lambda m: (
            problems.append(f"console {m.type}: {m.text}")
            if m.type in ("error", "warning")
            else None
        ),
    )
    page.on("pageerror", lambda e: problems.append(f"exception: {e}"))
    page.on(
        "requestfailed",
        lambda r: (
            problems.append(f"failed: {r.method} {r.url} ({r.failure})")
            # Requests a navigation (a reload, the form's post) cut short are no failure.
            if r.failure != "net::ERR_ABORTED"
            else None
        ),
    )
    page.on(
        "response",
        lambda r: (
            problems.append(f"{r.status}: {r.request.method} {r.url}")
            if r.status >= 400
            else None
        ),
    )
