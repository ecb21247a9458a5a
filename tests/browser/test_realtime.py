"""Live notes in a real browser across a server restart: uvicorn, Channels, a throwaway Redis.

The example's own ASGI application, with DEBUG on: it serves stability.js itself.
"""

from __future__ import annotations

import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.browser.conftest import ROOT, STARTUP, WAIT, Server, log_in, serving
from tests.fixtures.redis_server import RedisServer
from tests.realtime.servers import uvicorn_command

# uvicorn closes open sockets on SIGTERM; an SSE stream would hold it this long at most.
GRACE = 2


class Uvicorn(Server):
    """The example project under uvicorn (WebSocket and SSE), restartable on its port."""

    def start(self, **env: str) -> None:
        self.env.update(env)
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                uvicorn_command(
                    "example_project.asgi:application",
                    self.port,
                    "--timeout-graceful-shutdown",
                    str(GRACE),
                ),
                cwd=ROOT,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + STARTUP
        while True:
            assert self.process.poll() is None, self.log.read_text()[-2000:]
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return
            except OSError:
                assert time.monotonic() < deadline, "uvicorn did not listen in time"
                time.sleep(0.05)

    def add_note(self, title: str) -> None:
        """Save a note from another process, which broadcasts it like any save would."""
        self.manage(
            "shell",
            "-c",
            "from example_project.notes.models import Note; "
            f"Note.objects.create(title={title!r}, body='from another process')",
        )


@pytest.fixture
def live(tmp_path: Path, redis_server: RedisServer) -> Iterator[Uvicorn]:
    """The example project on uvicorn, its replay log and channel layer on a throwaway Redis."""
    server = Uvicorn(tmp_path)
    server.env["REDIS_URL"] = redis_server.url
    server.env["RATELIMIT"] = "off"  # the reconnects are not what this test is about
    with serving(server) as started:
        yield started


def test_a_note_saved_while_the_server_restarts_shows_up_after_reconnecting(
    browser: Any, live: Uvicorn
) -> None:
    """The page says Reconnecting… while the server is down, then Live, and shows the note saved meanwhile."""
    from playwright.sync_api import expect

    page = browser.new_page()
    log_in(page, live.base)
    status = page.locator("#live-status")
    expect(status).to_have_text("Live", timeout=WAIT)
    # A reload (the client's answer to a "reset") would also list the note: rule it out.
    page.evaluate("() => { window.sameDocument = true; }")

    live.stop()
    expect(status).to_have_text("Reconnecting…", timeout=WAIT)
    live.add_note("Saved during the restart")
    live.start()

    expect(status).to_have_text("Live", timeout=WAIT)
    expect(page.locator(".notes article h2").first).to_have_text(
        "Saved during the restart", timeout=WAIT
    )
    assert page.evaluate("() => window.sameDocument === true")
    page.close()


def test_the_event_source_client_receives_a_note_saved_elsewhere(
    browser: Any, live: Uvicorn
) -> None:
    """StabilityEventSource in the browser connects over SSE and receives a note saved by another process."""
    from playwright.sync_api import expect

    page = browser.new_page()
    log_in(page, live.base)
    page.evaluate(
        """async () => {
            const { StabilityEventSource } = await import("/static/django_stability/stability.js");
            const out = document.createElement("output");
            out.id = "sse";
            document.body.append(out);
            const source = new StabilityEventSource("notes");
            window.sseClient = source;
            source.addEventListener("status", (e) => { out.dataset.status = e.detail.label; });
            source.addEventListener("event", (e) => { out.textContent = e.detail.data.note.title; });
            source.start();
        }"""
    )
    sse = page.locator("#sse")
    expect(sse).to_have_attribute("data-status", "Live", timeout=WAIT)
    live.add_note("Sent over server-sent events")
    expect(sse).to_have_text("Sent over server-sent events", timeout=WAIT)
    # An open stream would hold uvicorn's graceful shutdown until GRACE: close it first.
    page.evaluate("() => window.sseClient.stop()")
    page.close()
