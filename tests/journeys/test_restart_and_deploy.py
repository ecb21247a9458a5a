"""Two journeys of people with the page open while the site changes under them.

The example runs as deployed (an ASGI server, Redis shared by every server
process; a throwaway redis-server here, and SQLite shared by the processes):

* restart: the server the two pages talk to is stopped for 10 s; meanwhile a
  note is saved through another server process; both pages show it once their
  server is back, without a reload;
* deploy: the server comes back with a new ``APP_VERSION``; the open page
  says a new version is out, without anyone touching it.
"""

from __future__ import annotations

import json
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.browser.conftest import WAIT, log_in, serving
from tests.browser.test_realtime import Uvicorn
from tests.fixtures.redis_server import RedisServer

DOWN_SECONDS = 10
# The clients back off with full jitter up to 30 s: after 10 s down, the next
# attempt of a page may come that much later.
BACK = 45_000


@pytest.fixture
def site(
    tmp_path: Path, redis_server: RedisServer
) -> Iterator[tuple[Uvicorn, Uvicorn]]:
    """Two server processes of the example on one database and one Redis."""
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
    first = Uvicorn(tmp_path / "a")
    first.env["REDIS_URL"] = redis_server.url
    first.env["RATELIMIT"] = "off"  # the reconnects are not what this is about
    second = Uvicorn(tmp_path / "b")
    second.env = {**first.env}  # the same database and Redis
    with serving(first):
        second.start()
        try:
            yield first, second
        finally:
            second.stop()


def save_note(server: Uvicorn, title: str) -> None:
    """``POST /api/notes/`` on ``server``: what any client of the API does."""
    request = urllib.request.Request(
        f"{server.base}/api/notes/",
        data=json.dumps({"title": title, "body": "line one\nline two"}).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 201, response.read()


def open_pages(browser: Any, server: Uvicorn) -> list[Any]:
    from playwright.sync_api import expect

    context = browser.new_context()
    pages = [context.new_page() for _ in range(2)]
    log_in(pages[0], server.base)
    pages[1].goto(server.base + "/")
    for page in pages:
        expect(page.locator("#live-status")).to_have_text("Live", timeout=WAIT)
        # A reload (the page's answer to a reset) would list the note too: rule it out.
        page.evaluate("() => { window.sameDocument = true; }")
    return pages


def test_both_pages_catch_up_after_their_server_restarts(
    browser: Any, site: tuple[Uvicorn, Uvicorn], tmp_path: Path
) -> None:
    from playwright.sync_api import expect

    first, second = site
    pages = open_pages(browser, first)
    first.stop()
    for page in pages:
        expect(page.locator("#live-status")).to_have_text("Reconnecting…", timeout=WAIT)
    stopped = time.monotonic()
    save_note(second, "Saved while the server was down")
    time.sleep(max(0.0, DOWN_SECONDS - (time.monotonic() - stopped)))
    first.start()
    for n, page in enumerate(pages):
        expect(page.locator("#live-status")).to_have_text("Live", timeout=BACK)
        newest = page.locator(".notes .note").first
        expect(newest).to_contain_text("Saved while the server was down", timeout=WAIT)
        expect(newest).to_contain_text("line one")
        assert page.evaluate("() => window.sameDocument === true")
        page.screenshot(path=tmp_path / f"final-{n}.png", full_page=True)


def test_an_open_page_learns_of_a_new_deploy(
    browser: Any, site: tuple[Uvicorn, Uvicorn], tmp_path: Path
) -> None:
    from playwright.sync_api import expect

    first, _ = site
    page = open_pages(browser, first)[0]
    banner = page.locator("#new-version")
    expect(banner).to_be_hidden()
    first.stop()
    first.start(APP_VERSION="v2")  # the deploy
    expect(banner).to_be_visible(timeout=BACK)
    expect(banner).to_contain_text("A new version of this site is out")
    assert page.evaluate("() => window.sameDocument === true")  # nobody reloaded
    page.screenshot(path=tmp_path / "final.png", full_page=True)
