"""stability.js with a fake clock in a real browser: keepalive's pace and autosave's debounce."""

from __future__ import annotations

from typing import Any

from tests.browser.conftest import OFFLINE, WAIT, log_in

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
    log_in(page, server.base)
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
    log_in(page, server.base)
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
