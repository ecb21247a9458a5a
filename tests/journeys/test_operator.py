"""The operator's journey: force each breaker open, see what the site answers, and undo it.

In a real browser against the example project started as the README starts
it (``manage.py runserver`` on SQLite and process memory), and as deployed (an
ASGI server on PostgreSQL and Redis, throwaway ones here so they can be
stopped): from the admin (with its confirmation), from ``manage.py breakers``
and from the JSON API, then with the database or Redis really down. Whatever
was forced, the operator gets the site back.
"""

from __future__ import annotations

import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.browser.conftest import PROJECT, WAIT, Server, log_in, serving
from tests.browser.test_realtime import Uvicorn
from tests.fixtures.postgres_server import PostgresServer
from tests.fixtures.redis_server import RedisServer

ADMIN = "/admin/django_stability/breaker/"
# A closed breaker trusts its view of the shared state for 1 s (the documented bound).
SEEN_WITHIN = 5.0


def site_status(base: str) -> int:
    """The status the site's front page answers now."""
    try:
        with urllib.request.urlopen(base + "/", timeout=5) as response:
            return int(response.status)
    except urllib.error.HTTPError as refused:
        return int(refused.code)


def wait_for_status(base: str, expected: int) -> None:
    """Until the front page answers ``expected`` (other workers see a change within 1 s)."""
    deadline = time.monotonic() + SEEN_WITHIN
    while (status := site_status(base)) != expected:
        assert time.monotonic() < deadline, f"the site answers {status}, not {expected}"
        time.sleep(0.1)


def manage(server: Server, *args: str) -> subprocess.CompletedProcess[str]:
    """``manage.py ARGS`` in the server's environment, as an operator types it."""
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=PROJECT,
        env=server.env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def row(page: Any, name: str) -> Any:
    return page.locator(f'tr[data-breaker="{name}"]')


def admin_action(page: Any, base: str, name: str, action: str) -> None:
    """Press one of a breaker's buttons on the admin page."""
    page.goto(base + ADMIN)
    row(page, name).locator(f'button[value="{action}"]').click()


def force_open_in_admin(page: Any, base: str, name: str, *, asks: bool) -> None:
    from playwright.sync_api import expect

    admin_action(page, base, name, "open")
    if asks:
        confirm = page.locator(".breaker-confirm")
        expect(confirm).to_contain_text(f"manage.py breakers release {name}")
        page.screenshot(path=page.context.shots / f"confirm-{name}.png")
        page.get_by_role("button", name="Yes, force it open").click()
    expect(page.locator(".messagelist")).to_contain_text(
        f"Circuit breaker “{name}” forced open", timeout=WAIT
    )
    expect(row(page, name)).to_contain_text("open")


def release_in_admin(page: Any, base: str, name: str) -> None:
    from playwright.sync_api import expect

    admin_action(page, base, name, "release")
    expect(page.locator(".messagelist")).to_contain_text(
        f"Circuit breaker “{name}” released", timeout=WAIT
    )


def api(page: Any, base: str, method: str, path: str) -> Any:
    """A call to the JSON API with the page's session, as a script of the operator's would make it."""
    csrf = next(c["value"] for c in page.context.cookies() if c["name"] == "csrftoken")
    headers = {"X-CSRFToken": csrf, "Referer": base + "/"}
    return page.request.fetch(base + path, method=method, headers=headers)


def see_the_site(browser: Any, base: str, tmp_path: Path, shot: str) -> str:
    """What a visitor sees on the front page now (a screenshot is kept)."""
    page = browser.new_page()
    try:
        page.goto(base + "/")
        page.screenshot(path=tmp_path / shot)
        return str(page.inner_text("body"))
    finally:
        page.close()


def operator_page(browser: Any, base: str, shots: Path) -> Any:
    context = browser.new_context()
    context.shots = shots  # where force_open_in_admin keeps the confirmation pages
    page = context.new_page()
    log_in(page, base)
    page.goto(base + ADMIN)
    return page


def test_operator_on_the_demo_server(
    browser: Any, server: Server, tmp_path: Path
) -> None:
    """``make demo``'s server: every configured breaker forced open and released from the admin, the API and the CLI."""
    from playwright.sync_api import expect

    page = operator_page(browser, server.base, tmp_path)
    expect(row(page, "database")).to_contain_text("every query and connection")

    # The admin: the database breaker asks first, and the site answers 503 meanwhile.
    force_open_in_admin(page, server.base, "database", asks=True)
    assert site_status(server.base) == 503
    seen = see_the_site(browser, server.base, tmp_path, "site-database-open.png")
    assert "Service Unavailable" in seen
    release_in_admin(page, server.base, "database")
    assert site_status(server.base) == 200

    # The cache breaker guards the process-local cache of the demo: nothing to ask.
    force_open_in_admin(page, server.base, "cache", asks=False)
    assert site_status(server.base) == 200
    release_in_admin(page, server.base, "cache")

    # The JSON API, with the operator's session.
    for name in ("database", "cache"):
        opened = api(page, server.base, "POST", f"/stability/breakers/{name}/open")
        assert opened.status == 200, opened.text()
        assert (opened.json()["forced"], opened.json()["recorded"]) == ("open", True)
        shown = api(page, server.base, "GET", f"/stability/breakers/{name}")
        assert shown.json()["state"] == "open"
        released = api(page, server.base, "POST", f"/stability/breakers/{name}/release")
        assert released.json()["forced"] is None
    assert site_status(server.base) == 200

    # The CLI: without Redis its own process holds the shared state, so what it
    # forces reaches the server through the database, at the server's next start.
    forced = manage(server, "breakers", "open", "database")
    assert forced.returncode == 0, forced.stderr
    server.stop()
    assert manage(server, "migrate", "--noinput").returncode == 0  # not locked out
    server.start()
    assert site_status(server.base) == 503
    page.goto(server.base + ADMIN)  # the admin still answers, and shows it
    expect(row(page, "database")).to_contain_text("open")
    released = manage(server, "breakers", "release", "database")
    assert released.returncode == 0, released.stderr
    assert "released" in released.stdout
    server.stop()
    server.start()
    assert site_status(server.base) == 200

    page.goto(server.base + ADMIN)
    page.screenshot(path=tmp_path / "final.png", full_page=True)
    expect(row(page, "database")).to_contain_text("closed")


@pytest.fixture
def deployed(
    tmp_path: Path, redis_server: RedisServer, pg_server: PostgresServer
) -> Iterator[Uvicorn]:
    """The example project under uvicorn on a throwaway PostgreSQL and Redis."""
    server = Uvicorn(tmp_path)
    server.env["DATABASE_URL"] = pg_server.url
    server.env["REDIS_URL"] = redis_server.url
    server.env["RATELIMIT"] = "off"
    with serving(server) as started:
        yield started


def test_operator_on_a_deployed_site_with_dependencies_down(
    browser: Any,
    deployed: Uvicorn,
    redis_server: RedisServer,
    pg_server: PostgresServer,
    tmp_path: Path,
) -> None:
    """PostgreSQL + Redis under uvicorn: admin, CLI and API, then PostgreSQL down, then Redis down."""
    from playwright.sync_api import expect

    base = deployed.base
    page = operator_page(browser, base, tmp_path)
    expect(row(page, "cache")).to_contain_text("the cache 'default'")

    # Both breakers guard something the whole site stands on: the admin asks.
    for name in ("database", "cache"):
        force_open_in_admin(page, base, name, asks=True)
        seen = see_the_site(browser, base, tmp_path, f"site-{name}-open.png")
        # The database refuses every page; an open cache is only a miss.
        assert ("Service Unavailable" in seen) == (name == "database")
        release_in_admin(page, base, name)
        assert site_status(base) == 200

    # The CLI reaches the running server through Redis.
    assert manage(deployed, "breakers", "open", "database").returncode == 0
    wait_for_status(base, 503)
    page.goto(base + ADMIN)
    expect(row(page, "database")).to_contain_text("open")
    assert manage(deployed, "breakers", "release", "database").returncode == 0
    wait_for_status(base, 200)

    # The JSON API.
    assert api(page, base, "POST", "/stability/breakers/database/open").status == 200
    wait_for_status(base, 503)
    assert api(page, base, "POST", "/stability/breakers/database/release").ok
    wait_for_status(base, 200)

    # PostgreSQL really down: the command still forces the breaker for every
    # worker, and says the database could not record it.
    pg_server.stop()
    down = manage(deployed, "breakers", "open", "database")
    assert down.returncode == 0, down.stderr
    assert "Not recorded in the database" in down.stderr
    wait_for_status(base, 503)
    pg_server.start()
    assert site_status(base) == 503  # still forced: the database is not what decides
    up = manage(deployed, "breakers", "release", "database")
    assert (up.returncode, up.stderr) == (0, "")
    wait_for_status(base, 200)

    # Redis down: the admin still works, on this process's view, and undoes what it does.
    redis_server.kill()
    page.goto(base + ADMIN)
    expect(page.locator("#breaker-engine")).to_contain_text("Redis is unreachable")
    force_open_in_admin(page, base, "database", asks=True)
    assert site_status(base) == 503
    release_in_admin(page, base, "database")
    assert site_status(base) == 200
    redis_server.start()

    deadline = time.monotonic() + 30  # the engine probes Redis again with a backoff
    page.goto(base + ADMIN)
    while "seen by every worker" not in page.inner_text("#breaker-engine"):
        assert time.monotonic() < deadline, "the admin never saw Redis again"
        time.sleep(0.5)
        page.goto(base + ADMIN)
    page.screenshot(path=tmp_path / "final.png", full_page=True)
    expect(row(page, "database")).to_contain_text("closed")
