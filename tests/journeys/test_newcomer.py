"""A newcomer's first minutes with the example, served as the README's quick start serves it.

``make demo``: migrate a fresh database, start ``manage.py runserver``, follow
the next steps it prints, and see a note saved in one tab appear in another.
"""

from __future__ import annotations

import re
import time
from collections import Counter
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from tests.browser.conftest import WAIT, log_in
from tests.journeys.conftest import Demo, access_lines, record_problems

LIVE_WITHIN = 2_000  # ms: a note saved in one tab shows in the other by then
SETTLED = 3_000  # ms a refused client is watched for one more attempt


def _start(demo: Demo, *options: str) -> str:
    """Migrate, create the user, start the server as ``make demo`` does; the migrate output."""
    migrated = demo.migrate()
    demo.manage(
        "createsuperuser", "--noinput", "--username", "writer", "--email", "w@x.org"
    )
    demo.start(*options)
    return migrated


def _note(page: Any, index: int = 0) -> Any:
    return page.locator(".notes .note").nth(index)


def test_two_tabs_see_each_others_notes_live(
    demo: Demo, browser: Any, tmp_path: Path
) -> None:
    """Fresh migrate without warnings, next steps printed, a note saved in one tab shows live in the other, as rendered there."""
    from playwright.sync_api import expect

    migrated = _start(demo)
    assert "warning" not in migrated.lower(), migrated
    banner = demo.log.read_text()
    assert "createsuperuser" in banner
    for url in (
        "/",
        "/admin/",
        "/admin/django_stability/breaker/",
        "/stability/health/ready",
    ):
        assert f"{demo.base}{url}\n" in banner or f"{demo.base}{url} " in banner, url
    served_before = len(access_lines(banner))

    context = browser.new_context(viewport={"width": 900, "height": 900})
    writer, reader = context.new_page(), context.new_page()
    problems: list[str] = []
    for page in (writer, reader):
        record_problems(page, problems)
    seen: set[str] = set()
    for page in (writer, reader):
        page.on(
            "response",
            lambda r: seen.add(r.headers.get("x-correlation-id", f"none: {r.url}")),
        )

    log_in(writer, demo.base)
    reader.goto(f"{demo.base}/")
    for page in (writer, reader):
        expect(page.locator("#live-status")).to_have_text("Live", timeout=WAIT)

    writer.fill("#id_title", "Shopping")
    writer.fill("#id_body", "milk\neggs & <bread>")
    writer.click("#note-form button[type=submit]")
    expect(_note(reader).locator("h2")).to_have_text("Shopping", timeout=LIVE_WITHIN)
    # The highlight of a new arrival fades and leaves the note as the page renders it.
    expect(_note(reader)).to_have_attribute("class", "note", timeout=WAIT)
    arrived = _note(reader).evaluate("(el) => el.outerHTML")
    assert "milk<br>eggs &amp; &lt;bread&gt;" in arrived
    assert re.search(
        r"Updated <time datetime=\"[^\"]+\">\d{4}-\d\d-\d\d \d\d:\d\d UTC</time>",
        arrived,
    )

    reader.reload()
    expect(reader.locator("#live-status")).to_have_text("Live", timeout=WAIT)
    assert _note(reader).evaluate("(el) => el.outerHTML") == arrived
    expect(_note(writer).locator("h2")).to_have_text("Shopping")
    expect(writer.locator(".operations a")).to_have_text(
        ["Circuit breakers", "Readiness probe", "Drafts", "Admin"]
    )
    shot = tmp_path / "newcomer.png"
    reader.screenshot(path=str(shot), full_page=True)
    # Autosave asks for the draft on load, and "none yet" is a 404 by contract (which
    # Chromium reports in the console): the one expected answer above 399.
    no_draft = f"404: GET {demo.base}/stability/drafts/notes%3Anew"
    assert [p for p in problems if p != no_draft and "status of 404" not in p] == []
    assert problems.count(no_draft) == problems.count(
        "console error: Failed to load resource: the server responded with a status of 404 (Not Found)"
    )

    # One access line per request, and only those: no second line from the server itself.
    deadline = time.monotonic() + 5  # a streamed file's line follows its last chunk
    while not seen <= {
        line["correlation_id"] for line in access_lines(demo.log.read_text())
    }:
        assert time.monotonic() < deadline, "a request got no access line"
        time.sleep(0.1)
    log = demo.log.read_text()
    assert "HTTP GET" not in log and "HTTP POST" not in log  # Daphne's own
    assert "[django.request]" not in log  # Django's "Not Found: ..." for the same 404
    lines = access_lines(log)[served_before:]
    per_request = Counter(line["correlation_id"] for line in lines)
    assert {cid for cid, n in per_request.items() if n != 1} == set()
    assert not {cid for cid in seen if cid.startswith("none")}, seen
    unseen = {line["path"] for line in lines if line["correlation_id"] not in seen}
    assert unseen <= {"/favicon.ico", "/static/notes/favicon.svg"}, unseen
    routes = {line["path"]: line["route"] for line in lines}
    assert routes["/"] == "/"
    assert routes["/stability/drafts/notes:new"] == "stability/drafts/<key>"
    context.close()


def _watch_socket(page: Any, **options: str) -> None:
    """Start a StabilitySocket with ``options`` on ``page``; record its statuses in window.statuses."""
    page.evaluate(
        """async (options) => {
            const { StabilitySocket } = await import("/static/django_stability/stability.js");
            window.statuses = [];
            const live = new StabilitySocket("notes", options);
            live.addEventListener("status", (e) => window.statuses.push(e.detail));
            live.start();
        }""",
        options,
    )


def _statuses(page: Any) -> list[dict[str, Any]]:
    """The statuses the page went through, each once in a row (as its label reads)."""
    statuses: list[dict[str, Any]] = []
    for status in page.evaluate("window.statuses"):
        if not statuses or statuses[-1]["label"] != status["label"]:
            statuses.append(status)
    return statuses


def test_a_websocket_route_that_does_not_exist_is_unavailable_without_retries(
    demo: Demo, browser: Any
) -> None:
    """A handshake the server refuses (no such route) twice in a row: "Live updates unavailable", and no more attempts."""
    _start(demo)
    page = browser.new_page()
    log_in(page, demo.base)
    attempts: list[str] = []
    page.on("websocket", lambda ws: attempts.append(urlsplit(ws.url).path))
    _watch_socket(page, url=f"ws://127.0.0.1:{demo.port}/ws/no/such/route/")
    page.wait_for_function(
        "window.statuses.some((s) => s.status === 'failed')", timeout=WAIT
    )
    page.wait_for_timeout(SETTLED)
    statuses = _statuses(page)
    assert [s["label"] for s in statuses] == [
        "Connecting…",
        "Reconnecting…",
        "Live updates unavailable",
    ]
    assert statuses[-1]["reason"] == "refused"
    assert attempts.count("/ws/no/such/route/") == 2


def test_a_refusal_close_code_is_final_at_once(demo: Demo, browser: Any) -> None:
    """The server's own refusal (4401, not logged in) ends it after one attempt, with the same label."""
    _start(demo)
    page = browser.new_page()
    page.goto(f"{demo.base}/")
    attempts: list[str] = []
    page.on("websocket", lambda ws: attempts.append(ws.url))
    _watch_socket(page)
    page.wait_for_function(
        "window.statuses.some((s) => s.status === 'failed')", timeout=WAIT
    )
    refused_after = len(attempts)
    page.wait_for_timeout(SETTLED)
    statuses = [(s["label"], s.get("code")) for s in _statuses(page)]
    assert statuses[0] == ("Connecting…", None)
    assert statuses[-1] == ("Live updates unavailable", 4401)
    # At once: no attempt after the 4401. (A busy machine may drop the very first
    # handshake, which the client then retries like any failure, once.)
    assert len(attempts) == refused_after <= 2
    assert statuses[1:-1] in ([], [("Reconnecting…", 1006)])


def test_an_event_stream_url_that_answers_404_is_unavailable(
    demo: Demo, browser: Any
) -> None:
    """StabilityEventSource reads the 404 behind the browser's error and gives up after two, like the socket."""
    _start(demo)
    page = browser.new_page()
    log_in(page, demo.base)
    page.evaluate(
        """async () => {
            const { StabilityEventSource } = await import("/static/django_stability/stability.js");
            window.statuses = [];
            const live = new StabilityEventSource("notes", { url: "/stability/no-such-stream/" });
            live.addEventListener("status", (e) => window.statuses.push(e.detail));
            live.start();
        }"""
    )
    page.wait_for_function(
        "window.statuses.some((s) => s.status === 'failed')", timeout=WAIT
    )
    page.wait_for_timeout(SETTLED)
    statuses = _statuses(page)
    assert [s["label"] for s in statuses][-1] == "Live updates unavailable"
    assert (statuses[-1]["reason"], statuses[-1]["httpStatus"]) == ("refused", 404)
    assert len(statuses) == 3


def test_the_page_says_unavailable_under_a_server_without_websocket(
    demo: Demo, browser: Any, tmp_path: Path
) -> None:
    """Under Django's WSGI server (the old `make demo`) the page stops at "Live updates unavailable" instead of reconnecting forever."""
    from playwright.sync_api import expect

    _start(demo, "--noasgi")
    page = browser.new_page(viewport={"width": 900, "height": 500})
    attempts: list[str] = []
    page.on("websocket", lambda ws: attempts.append(ws.url))
    log_in(page, demo.base)
    expect(page.locator("#live-status")).to_have_text(
        "Live updates unavailable", timeout=WAIT
    )
    page.wait_for_timeout(SETTLED)
    assert len(attempts) == 2
    page.screenshot(path=str(tmp_path / "unavailable.png"))
