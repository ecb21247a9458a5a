"""stability.js's autosave in a real browser: the device copy per keystroke, the flush on leaving, create-only saves.

The debounce is set far beyond the test, so every request seen here comes from
what the test does: leaving the page, flush(), or resolving a conflict.
"""

from __future__ import annotations

from typing import Any

from tests.browser.conftest import WAIT, log_in

# Two autosaving forms on one page stand for two tabs: same draft key, their own device copies.
TWO_TABS = """() => {
window.sent = [];
const before = window.fetch;
window.fetch = (url, init = {}) => {
  if (String(url).includes('/stability/drafts/')) {
    window.sent.push({ method: init.method || 'GET', keepalive: Boolean(init.keepalive),
                       body: init.body ? JSON.parse(init.body) : null });
  }
  return before(url, init);
};
window.setHidden = (hidden) => {
  Object.defineProperty(document, 'visibilityState', { value: hidden ? 'hidden' : 'visible', configurable: true });
  document.dispatchEvent(new Event('visibilitychange'));
};
window.tabs = {};
window.conflicts = [];
const open = (name, key, options) => {
  const form = document.createElement('form');
  form.innerHTML = '<textarea name="body"></textarea><p data-autosave-status></p>';
  form.addEventListener('stability:draft-conflict', (e) => window.conflicts.push(
    { tab: name, creating: e.detail.creating, server: e.detail.server.data.body, local: e.detail.local.body }));
  document.body.append(form);
  return import('/static/django_stability/stability.js').then((m) => {
    window.tabs[name] = { form, ctl: m.autosave(form, key, { debounce: 600000, retry: 600000, scope: name, ...options }) };
  });
};
window.open2 = open;
window.typeInto = (name, text) => {
  const form = window.tabs[name].form;
  form.body.value = text;
  form.body.dispatchEvent(new Event('input', { bubbles: true }));
};
window.statusOf = (name) => window.tabs[name].form.querySelector('[data-autosave-status]').textContent;
}"""


def _page(server: Any, browser: Any) -> Any:
    page = browser.new_context().new_page()
    log_in(page, server.base)
    page.evaluate(TWO_TABS)
    return page


def _open(page: Any, name: str, key: str, options: str = "{ initial: null }") -> None:
    page.evaluate(f"window.open2({name!r}, {key!r}, {options})")
    page.wait_for_function(f"window.tabs[{name!r}] !== undefined", timeout=WAIT)


def _device_copy(page: Any, name: str, key: str) -> Any:
    return page.evaluate(
        f"JSON.parse(localStorage.getItem('stability:draft:{name}:{key}'))"
    )


def _puts(page: Any) -> list[dict[str, Any]]:
    return [s for s in page.evaluate("window.sent") if s["method"] == "PUT"]


def _saved(page: Any, name: str) -> None:
    page.wait_for_function(
        f"window.statusOf({name!r}).startsWith('Saved at')", timeout=WAIT
    )


def _server(page: Any, server: Any, key: str) -> Any:
    return page.request.get(f"{server.base}/stability/drafts/{key}").json()


def test_each_keystroke_is_on_the_device_and_leaving_sends_it_with_keepalive(
    server, browser
):
    """Typing writes the device copy with no request; hiding or leaving the page sends it at once, kept alive, unless over 64 KiB."""
    page = _page(server, browser)
    _open(page, "a", "js:leave")
    assert page.evaluate("window.sent") == []  # initial: null, so no GET

    page.evaluate("window.typeInto('a', 'first words')")
    assert _device_copy(page, "a", "js:leave")["data"] == {"body": "first words"}
    assert _puts(page) == []

    page.evaluate("window.setHidden(true)")  # switching tabs
    _saved(page, "a")
    [hidden] = _puts(page)
    assert hidden == {
        "method": "PUT",
        "keepalive": True,
        "body": {"data": {"body": "first words"}, "version": 0},
    }
    assert _device_copy(page, "a", "js:leave") is None  # the server confirmed it

    page.evaluate("window.setHidden(false)")
    page.evaluate("window.typeInto('a', 'first words, then more')")
    page.evaluate("window.dispatchEvent(new Event('pagehide'))")  # closing the tab
    assert _puts(page)[1] == {
        "method": "PUT",
        "keepalive": True,
        "body": {"data": {"body": "first words, then more"}, "version": 1},
    }
    _saved(page, "a")
    assert _server(page, server, "js:leave")["data"] == {
        "body": "first words, then more"
    }
    page.evaluate("window.dispatchEvent(new Event('pagehide'))")
    assert len(_puts(page)) == 2  # nothing new: nothing sent

    big = "x" * (64 * 1024)
    page.evaluate(f"window.typeInto('a', {big!r})")
    page.evaluate("window.dispatchEvent(new Event('pagehide'))")
    assert (
        len(_puts(page)) == 2
    )  # over what keepalive carries: the device copy keeps it
    assert _device_copy(page, "a", "js:leave")["data"] == {"body": big}


def test_a_second_creator_pauses_until_it_chooses(server, browser):
    """Two tabs creating one draft: the second gets a conflict event, saves nothing until useServer() or keepMine(), then saves again."""
    page = _page(server, browser)
    _open(page, "a", "js:race")
    _open(page, "b", "js:race")
    page.evaluate("window.typeInto('a', 'from a'); window.tabs.a.ctl.flush()")
    _saved(page, "a")
    page.evaluate("window.typeInto('b', 'from b')")
    page.evaluate("window.tabs.b.ctl.flush()")
    page.wait_for_function("window.conflicts.length === 1", timeout=WAIT)
    assert page.evaluate("window.conflicts") == [
        {"tab": "b", "creating": True, "server": "from a", "local": "from b"}
    ]
    assert page.evaluate("window.statusOf('b')") == (
        "Changed in another tab - kept on this device until you choose"
    )
    assert page.evaluate("window.tabs.b.ctl.conflict.server.version") == 1

    # Paused: more typing stays on the device, and neither flush() nor leaving sends it.
    page.evaluate("window.typeInto('b', 'from b, still typing')")
    page.evaluate("window.tabs.b.ctl.flush(); window.setHidden(true)")
    assert len(_puts(page)) == 2
    assert _device_copy(page, "b", "js:race")["data"] == {
        "body": "from b, still typing"
    }
    assert _server(page, server, "js:race")["data"] == {"body": "from a"}
    page.evaluate("window.setHidden(false)")

    page.evaluate("window.tabs.b.ctl.useServer()")
    assert page.evaluate("window.tabs.b.form.body.value") == "from a"
    assert page.evaluate("window.tabs.b.ctl.conflict") is None
    assert _device_copy(page, "b", "js:race") is None
    _saved(page, "b")
    page.evaluate("window.typeInto('b', 'from a, edited in b')")
    page.evaluate("window.tabs.b.ctl.flush()")
    page.wait_for_function("window.tabs.b.ctl.version === 2", timeout=WAIT)
    assert _puts(page)[-1]["body"]["version"] == 1
    assert _server(page, server, "js:race")["data"] == {"body": "from a, edited in b"}


def test_the_same_text_saved_twice_is_no_conflict(server, browser):
    """A create-only save that finds the very same text (say, its own flush on leaving) takes that version silently."""
    page = _page(server, browser)
    _open(page, "a", "js:same")
    _open(page, "b", "js:same")
    page.evaluate("window.typeInto('a', 'same words'); window.tabs.a.ctl.flush()")
    _saved(page, "a")
    page.evaluate("window.typeInto('b', 'same words'); window.tabs.b.ctl.flush()")
    _saved(page, "b")
    assert page.evaluate("[window.conflicts, window.tabs.b.ctl.version]") == [[], 1]
    assert _device_copy(page, "b", "js:same") is None


def test_an_embedded_draft_fills_the_form_without_a_request(server, browser):
    """initial names a <script type="application/json"> with the draft: the form shows it and no GET is made."""
    page = _page(server, browser)
    _open(page, "a", "js:embedded")
    page.evaluate(
        "window.typeInto('a', 'rendered by the server'); window.tabs.a.ctl.flush()"
    )
    _saved(page, "a")
    draft = _server(page, server, "js:embedded")
    page.evaluate(
        "(draft) => { const s = document.createElement('script');"
        " s.type = 'application/json'; s.id = 'embedded-draft';"
        " s.textContent = JSON.stringify(draft); document.body.append(s); }",
        draft,
    )
    _open(page, "c", "js:embedded", "{ initial: 'embedded-draft' }")
    assert page.evaluate("window.tabs.c.form.body.value") == "rendered by the server"
    assert page.evaluate("window.tabs.c.ctl.version") == 1
    assert [s["method"] for s in page.evaluate("window.sent")] == ["PUT"]
    assert page.evaluate("window.statusOf('c')").startswith("Saved at")
