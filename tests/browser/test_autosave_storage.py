"""The device copies of autosave on a shared browser: per user, expiring, cleared on logout, never touching hidden fields."""

from __future__ import annotations

from typing import Any

from tests.browser.conftest import KEY, SAVED, WAIT

PASSWORD = "browser-test-password"  # every user serving() and _add_user() create has it
ALL_COPIES = (
    "Object.keys(localStorage).filter((k) => k.startsWith('stability:draft:')).sort()"
)


def _add_user(server: Any, username: str) -> None:
    server.manage(
        "createsuperuser",
        "--noinput",
        "--username",
        username,
        "--email",
        "x@example.com",
    )


def _log_in_as(page: Any, base: str, username: str) -> None:
    page.goto(f"{base}/admin/login/?next=/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url(f"{base}/", timeout=WAIT)


def _type_offline(context: Any, page: Any, text: str) -> None:
    """Type into the note's body with the network down, then close the page: only the device copy has it."""
    context.set_offline(True)
    page.fill("#id_body", text)
    page.wait_for_function(
        f"Object.values(localStorage).some((v) => v.includes({text!r}))", timeout=WAIT
    )
    page.close()  # closed while offline: the copy stays for the next load
    context.set_offline(False)


def test_the_next_user_on_the_device_never_sees_the_previous_users_copy(
    server, browser
):
    """Alice's unsent copy is neither shown to nor uploaded for Bob, who logs in after her on the same browser."""
    from playwright.sync_api import expect

    _add_user(server, "bob")
    context = browser.new_context()
    alice = context.new_page()
    _log_in_as(alice, server.base, "writer")
    _type_offline(context, alice, "alice's secret")
    context.clear_cookies()  # she walks away without logging out

    bob = context.new_page()
    _log_in_as(bob, server.base, "bob")
    bob.fill("#id_title", "Bob's")
    expect(bob.locator("[data-autosave-status]")).to_have_text(SAVED, timeout=WAIT)
    expect(bob.locator("#id_body")).to_have_value("")
    stored = bob.request.get(f"{server.base}/stability/drafts/{KEY}").json()
    assert stored["data"] == {"title": "Bob's", "body": ""}
    # Alice's copy is still hers, under her id, for when she comes back.
    copies = bob.evaluate(ALL_COPIES)
    assert copies == [f"stability:draft:1:{KEY}"]


def test_an_expired_copy_is_deleted_not_restored(server, browser):
    """A device copy last written more than STABILITY_DRAFT_TTL (7 days) ago is not put into the form nor uploaded."""
    from playwright.sync_api import expect

    context = browser.new_context()
    page = context.new_page()
    _log_in_as(page, server.base, "writer")
    _type_offline(context, page, "typed a long time ago")

    later = context.new_page()
    now = later.evaluate("Date.now()")
    later.clock.install(time=now / 1000 + 7 * 24 * 3600 + 60)  # 7 days and a minute on
    later.goto(f"{server.base}/")
    later.wait_for_function(f"{ALL_COPIES}.length === 0", timeout=WAIT)
    expect(later.locator("#id_body")).to_have_value("")
    assert later.request.get(f"{server.base}/stability/drafts/{KEY}").status == 404


def test_a_copy_within_the_ttl_is_still_restored(server, browser):
    """Six days on, the unsent copy is put back into the form and uploaded: only expiry forgets it."""
    from playwright.sync_api import expect

    context = browser.new_context()
    page = context.new_page()
    _log_in_as(page, server.base, "writer")
    _type_offline(context, page, "typed last week")

    later = context.new_page()
    now = later.evaluate("Date.now()")
    later.clock.install(time=now / 1000 + 6 * 24 * 3600)  # (a number is in seconds)
    later.goto(f"{server.base}/")
    expect(later.locator("#id_body")).to_have_value("typed last week", timeout=WAIT)
    later.wait_for_function(f"{ALL_COPIES}.length === 0", timeout=WAIT)
    stored = later.request.get(f"{server.base}/stability/drafts/{KEY}").json()
    assert stored["data"]["body"] == "typed last week"


def test_logging_out_deletes_every_copy_and_keeps_the_last_keystrokes(server, browser):
    """Log out: the text typed just before reaches the server, and no device copy (anyone's) is left behind."""
    from playwright.sync_api import expect

    context = browser.new_context()
    page = context.new_page()
    _log_in_as(page, server.base, "writer")
    # Copies this device holds for another user and from an older stability.js (no user in the key).
    page.evaluate(
        "(key) => { const copy = JSON.stringify({ data: { body: 'x' }, version: 0, at: Date.now() });"
        " localStorage.setItem(`stability:draft:2:${key}`, copy);"
        " localStorage.setItem(`stability:draft:${key}`, copy); }",
        KEY,
    )
    page.fill("#id_body", "last words before logging out")
    assert (
        page.evaluate(f"{ALL_COPIES}.length") == 3
    )  # this one waits for the 2 s debounce
    with page.expect_navigation(url=f"{server.base}/", timeout=WAIT):
        page.click("#logout-form button")
    expect(page.locator("#logout-form")).to_have_count(0)  # the logged-out page
    assert page.evaluate(ALL_COPIES) == []
    _log_in_as(page, server.base, "writer")
    stored = page.request.get(f"{server.base}/stability/drafts/{KEY}").json()
    assert stored["data"]["body"] == "last words before logging out"


NO_USER = """() => {
const form = document.createElement('form');
form.innerHTML = '<textarea name="body"></textarea>';
document.body.append(form);
return import('/static/django_stability/stability.js').then((m) => {
  m.autosave(form, 'no:user', { initial: null, debounce: 600000 });
  form.body.value = 'typed on a page that names no user';
  form.body.dispatchEvent(new Event('input', { bubbles: true }));
});
}"""


def test_a_page_that_names_no_user_keeps_no_device_copy(server, browser):
    """Without a scope or <meta name="stability-user">, typing leaves nothing in localStorage."""
    page = browser.new_context().new_page()
    page.goto(f"{server.base}/")  # logged out: the page names no user
    page.evaluate(NO_USER)
    assert page.evaluate(ALL_COPIES) == []


HIDDEN_FIELDS = """([key, copy, token]) => {
localStorage.setItem(`stability:draft:h:${key}`, JSON.stringify(copy));
const form = document.createElement('form');
form.innerHTML = `<input type="hidden" name="csrfmiddlewaretoken" value="${token}">`
  + '<input type="hidden" name="next" value="/set-by-the-server">'
  + '<input type="password" name="pin" value="">'
  + '<input name="readonly" value="server" readonly>'
  + '<input name="title" value="">'
  + '<textarea name="body"></textarea><p data-autosave-status></p>';
document.body.append(form);
window.hform = form;
return import('/static/django_stability/stability.js').then((m) => {
  window.hctl = m.autosave(form, key, { scope: 'h', initial: null });
  return window.hctl.ready;
});
}"""


def test_a_restore_fills_only_the_fields_a_user_edits(server, browser):
    """A copy naming the CSRF token, hidden, password and read-only fields restores the text fields only."""
    context = browser.new_context()
    page = context.new_page()
    _log_in_as(page, server.base, "writer")
    copy = {
        "data": {
            "body": "restored text",
            "csrfmiddlewaretoken": "stale-token",
            "next": "https://evil.example/",
            "pin": "1234",
            "readonly": "changed",
        },
        "version": 0,
        "at": page.evaluate("Date.now()"),
    }
    token = next(c["value"] for c in context.cookies() if c["name"] == "csrftoken")
    page.evaluate(HIDDEN_FIELDS, ["hidden:fields", copy, token])
    values = page.evaluate(
        "Object.fromEntries([...window.hform.elements].filter((e) => e.name).map((e) => [e.name, e.value]))"
    )
    assert values == {
        "csrfmiddlewaretoken": token,
        "next": "/set-by-the-server",
        "pin": "",
        "readonly": "server",
        "title": "",
        "body": "restored text",
    }
    page.wait_for_function(
        "window.hform.querySelector('[data-autosave-status]').textContent.startsWith('Saved at')",
        timeout=WAIT,
    )
    stored = page.request.get(f"{server.base}/stability/drafts/hidden:fields").json()
    assert stored["data"] == {
        "title": "",
        "body": "restored text",
    }  # nothing else saved
