"""stability.js in a real browser: headless Chromium against a real runserver of the example project.

Needs the system's Chromium at /usr/bin/chromium (Debian's package
``chromium``) and Playwright for Python; it never downloads a browser. Without
them the test is skipped, and fails instead with STABILITY_REQUIRE_SERVICES=1.
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
from pathlib import Path
from typing import Any

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
STARTUP = 30  # seconds for the server to answer
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


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    """A migrated example project with one user, serving on a free loopback port."""
    server = Server(tmp_path)
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


def _log_in(page: Any, base: str) -> None:
    page.goto(f"{base}/admin/login/?next=/")
    page.fill("#id_username", "writer")
    page.fill("#id_password", "browser-test-password")
    page.click("input[type=submit]")
    page.wait_for_url(f"{base}/", timeout=WAIT)


def _local_copy(page: Any) -> Any:
    # The example scopes the device copy by user id; the only user is the first one.
    return page.evaluate(f"JSON.parse(localStorage.getItem('stability:draft:1:{KEY}'))")


def test_autosave_survives_reload_and_an_outage(server, browser):
    """Typing is saved, restored after a reload, kept on the device while the server is down and uploaded when it is back."""
    from playwright.sync_api import expect

    page = browser.new_context().new_page()
    _log_in(page, server.base)
    status = page.locator("[data-autosave-status]")

    page.fill("#id_title", "Groceries")
    page.fill("#id_body", "milk, eggs")
    expect(status).to_have_text(SAVED, timeout=WAIT)
    assert _local_copy(page) is None  # the server has it: nothing pending here

    page.reload()
    expect(page.locator("#id_title")).to_have_value("Groceries", timeout=WAIT)
    expect(page.locator("#id_body")).to_have_value("milk, eggs")
    expect(status).to_have_text(SAVED, timeout=WAIT)

    server.stop()
    page.fill("#id_body", "milk, eggs, written offline")
    expect(status).to_have_text(OFFLINE, timeout=WAIT)
    assert _local_copy(page)["data"]["body"] == "milk, eggs, written offline"
    assert page.evaluate(f"localStorage.getItem('stability:draft:{KEY}')") is None

    server.start(APP_VERSION="v2")  # a deploy happened meanwhile
    expect(status).to_have_text(SAVED, timeout=WAIT)
    stored = page.request.get(f"{server.base}/stability/drafts/{KEY}").json()
    assert stored["data"]["body"] == "milk, eggs, written offline"
    assert _local_copy(page) is None
    # The upload's answer carried the new X-App-Version: the page offers a reload.
    expect(page.locator("#new-version")).to_be_visible(timeout=WAIT)


def test_a_stale_tab_gets_a_conflict_event_and_keeps_its_text(server, browser):
    """Two tabs on one draft: the one saving from an old version hears stability:draft-conflict and its text wins."""
    from playwright.sync_api import expect

    context = browser.new_context()
    first, second = context.new_page(), context.new_page()
    _log_in(first, server.base)
    first.fill("#id_title", "Base")
    expect(first.locator("[data-autosave-status]")).to_have_text(SAVED, timeout=WAIT)
    second.goto(f"{server.base}/")
    expect(second.locator("#id_title")).to_have_value("Base", timeout=WAIT)
    second.evaluate(
        "window.conflicts = [];"
        "document.getElementById('note-form').addEventListener('stability:draft-conflict',"
        " (e) => window.conflicts.push(e.detail.server.data.title));"
    )

    first.fill("#id_title", "From the first tab")
    expect(first.locator("[data-autosave-status]")).to_have_text(SAVED, timeout=WAIT)
    second.fill("#id_title", "From the second tab")
    second.wait_for_function("window.conflicts.length === 1", timeout=WAIT)
    expect(second.locator("[data-autosave-status]")).to_have_text(SAVED, timeout=WAIT)

    assert second.evaluate("window.conflicts") == ["From the first tab"]
    stored = second.request.get(f"{server.base}/stability/drafts/{KEY}").json()
    assert (stored["data"]["title"], stored["version"]) == ("From the second tab", 3)


def test_clear_forgets_the_draft_here_and_on_the_server(server, browser):
    """The Clear draft button empties the form, the device copy and the server's draft."""
    from playwright.sync_api import expect

    page = browser.new_context().new_page()
    _log_in(page, server.base)
    page.fill("#id_title", "To be cleared")
    expect(page.locator("[data-autosave-status]")).to_have_text(SAVED, timeout=WAIT)
    page.click("#clear-draft")
    expect(page.locator("#id_title")).to_have_value("")
    page.wait_for_function(
        f"fetch('/stability/drafts/{KEY}').then((r) => r.status === 404)", timeout=WAIT
    )
    page.reload()
    expect(page.locator("#id_title")).to_have_value("")
    assert _local_copy(page) is None


# A fake clock inside the page: timers run only when the test advances time.
FAKE_CLOCK = """
window.fake = { now: 0, timers: new Map(), next: 1, pings: 0 };
window.fake.clock = {
  now: () => window.fake.now,
  setTimeout: (fn, ms) => { const id = window.fake.next++; window.fake.timers.set(id, { at: window.fake.now + ms, fn }); return id; },
  clearTimeout: (id) => window.fake.timers.delete(id),
};
window.fake.advance = async (ms) => {
  const end = window.fake.now + ms;
  for (let guard = 0; guard < 1000; guard++) {
    const due = [...window.fake.timers].filter(([, t]) => t.at <= end).sort((a, b) => a[1].at - b[1].at)[0];
    if (!due) break;
    window.fake.timers.delete(due[0]);
    window.fake.now = due[1].at;
    due[1].fn();
    await new Promise((resolve) => setTimeout(resolve, 200));  // let a ping's fetch finish
  }
  window.fake.now = end;
  return window.fake.pings;
};
const realFetch = window.fetch;
window.fetch = (url, init) => {
  if (String(url).endsWith('/keepalive')) window.fake.pings++;
  return realFetch(url, init);
};
window.setHidden = (hidden) => {
  Object.defineProperty(document, 'visibilityState', { value: hidden ? 'hidden' : 'visible', configurable: true });
  document.dispatchEvent(new Event('visibilitychange'));
};
"""
MINUTE = 60_000


def test_keepalive_pings_every_5_min_when_active_15_when_idle_and_never_hidden(
    server, browser
):
    """keepalive() renews the session every 5 min of activity, every 15 idle, not while hidden, and on return."""
    page = browser.new_context().new_page()
    _log_in(page, server.base)
    page.evaluate(FAKE_CLOCK)
    page.evaluate(
        "import('/static/django_stability/stability.js')"
        ".then((m) => { window.alive = m.keepalive({ clock: window.fake.clock }); })"
    )
    page.wait_for_function("window.alive !== undefined", timeout=WAIT)

    def advance(minutes: float) -> int:
        return int(page.evaluate(f"window.fake.advance({minutes * MINUTE})"))

    assert advance(4.9) == 0
    assert advance(0.2) == 1  # 5 min after an active start
    assert advance(10) == 1  # idle since: the next one is 15 min after the last
    assert advance(5) == 2
    page.evaluate("window.setHidden(true)")
    assert advance(60) == 2  # hidden: no renewal at all
    page.evaluate("window.setHidden(false)")
    page.wait_for_function(
        "window.fake.pings === 3", timeout=WAIT
    )  # overdue: at once on return
    page.evaluate("window.dispatchEvent(new KeyboardEvent('keydown'))")
    assert advance(5.1) == 4  # active again: back to 5 min
    stored = page.request.post(
        f"{server.base}/stability/keepalive",
        headers={"X-CSRFToken": _csrf_cookie(page)},
    )
    assert stored.status == 200
    assert stored.json()["expires_in"] > 0


def _csrf_cookie(page: Any) -> str:
    return str(
        next(c["value"] for c in page.context.cookies() if c["name"] == "csrftoken")
    )


AUTOSAVE_WITH_FAKE_CLOCK = """
window.puts = 0;
const before = window.fetch;
window.fetch = (url, init) => {
  if (init && init.method === 'PUT') window.puts++;
  return before(url, init);
};
const form = document.createElement('form');
form.innerHTML = '<textarea name="body"></textarea><p data-autosave-status></p>';
document.body.append(form);
window.typeInto = (text) => {
  form.body.value = text;
  form.body.dispatchEvent(new Event('input', { bubbles: true }));
};
window.saveStatus = () => form.querySelector('[data-autosave-status]').textContent;
import('/static/django_stability/stability.js').then((m) => {
  window.ctl = m.autosave(form, 'js:clock', { clock: window.fake.clock, restore: false, scope: 'test' });
});
"""


def test_autosave_debounce_offline_mode_and_limits_with_a_fake_clock(server, browser):
    """Saves wait for 2 s without typing, go out on the browser's online event, and a 413 keeps the device copy."""
    context = browser.new_context()
    page = context.new_page()
    _log_in(page, server.base)
    page.evaluate(FAKE_CLOCK)
    page.evaluate(AUTOSAVE_WITH_FAKE_CLOCK)
    page.wait_for_function("window.ctl !== undefined", timeout=WAIT)

    def advance(ms: int) -> None:
        page.evaluate(f"window.fake.advance({ms})")

    page.evaluate("window.typeInto('a')")
    advance(1500)
    page.evaluate("window.typeInto('ab')")
    advance(1500)
    assert page.evaluate("window.puts") == 0  # each keystroke restarts the 2 s
    advance(600)
    page.wait_for_function("window.saveStatus().startsWith('Saved at')", timeout=WAIT)
    assert page.evaluate("[window.puts, window.ctl.version]") == [1, 1]

    context.set_offline(True)  # the browser's own offline mode: fetch fails for real
    page.evaluate("window.typeInto('abc, offline')")
    advance(2000)
    page.wait_for_function(f"window.saveStatus() === '{OFFLINE}'", timeout=WAIT)
    copy = page.evaluate(
        "JSON.parse(localStorage.getItem('stability:draft:test:js:clock'))"
    )
    assert copy["data"] == {"body": "abc, offline"}
    context.set_offline(
        False
    )  # fires "online": the copy goes up without waiting for the retry
    page.wait_for_function("window.saveStatus().startsWith('Saved at')", timeout=WAIT)
    stored = page.request.get(f"{server.base}/stability/drafts/js:clock").json()
    assert (stored["data"], stored["version"]) == ({"body": "abc, offline"}, 2)

    page.evaluate(
        "window.typeInto('x'.repeat(300000))"
    )  # over the default 262144 bytes
    advance(2000)
    page.wait_for_function(
        "window.saveStatus().startsWith('Not saved on the server')", timeout=WAIT
    )
    kept = page.evaluate(
        "JSON.parse(localStorage.getItem('stability:draft:test:js:clock'))"
    )
    assert len(kept["data"]["body"]) == 300_000
    stored = page.request.get(f"{server.base}/stability/drafts/js:clock").json()
    assert stored["version"] == 2  # the server kept the last draft it accepted
