"""stability.js in a real browser: autosave on the example's note form against a real runserver."""

from __future__ import annotations

from tests.browser.conftest import KEY, OFFLINE, SAVED, WAIT, local_copy, log_in


def test_autosave_survives_reload_and_an_outage(server, browser):
    """Typing is saved, restored after a reload, kept on the device while the server is down and uploaded when it is back."""
    from playwright.sync_api import expect

    page = browser.new_context().new_page()
    log_in(page, server.base)
    status = page.locator("[data-autosave-status]")

    page.fill("#id_title", "Groceries")
    page.fill("#id_body", "milk, eggs")
    expect(status).to_have_text(SAVED, timeout=WAIT)
    assert local_copy(page) is None  # the server has it: nothing pending here

    page.reload()
    expect(page.locator("#id_title")).to_have_value("Groceries", timeout=WAIT)
    expect(page.locator("#id_body")).to_have_value("milk, eggs")
    expect(status).to_have_text(SAVED, timeout=WAIT)

    server.stop()
    page.fill("#id_body", "milk, eggs, written offline")
    expect(status).to_have_text(OFFLINE, timeout=WAIT)
    assert local_copy(page)["data"]["body"] == "milk, eggs, written offline"
    assert page.evaluate(f"localStorage.getItem('stability:draft:{KEY}')") is None

    server.start(APP_VERSION="v2")  # a deploy happened meanwhile
    expect(status).to_have_text(SAVED, timeout=WAIT)
    stored = page.request.get(f"{server.base}/stability/drafts/{KEY}").json()
    assert stored["data"]["body"] == "milk, eggs, written offline"
    assert local_copy(page) is None
    # The upload's answer carried the new X-App-Version: the page offers a reload.
    expect(page.locator("#new-version")).to_be_visible(timeout=WAIT)


def test_a_stale_tab_gets_a_conflict_event_and_keeps_its_text(server, browser):
    """Two tabs on one draft: the one saving from an old version hears stability:draft-conflict and its text wins."""
    from playwright.sync_api import expect

    context = browser.new_context()
    first, second = context.new_page(), context.new_page()
    log_in(first, server.base)
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
    log_in(page, server.base)
    page.fill("#id_title", "To be cleared")
    expect(page.locator("[data-autosave-status]")).to_have_text(SAVED, timeout=WAIT)
    # (wait_for_function would take a fetch's Promise as truthy: wait for the DELETE itself.)
    with page.expect_response(
        lambda response: response.request.method == "DELETE", timeout=WAIT
    ) as deleted:
        page.click("#clear-draft")
    assert deleted.value.status == 204
    expect(page.locator("#id_title")).to_have_value("")
    assert page.request.get(f"{server.base}/stability/drafts/{KEY}").status == 404
    page.reload()
    expect(page.locator("#id_title")).to_have_value("")
    assert local_copy(page) is None


# A fake clock inside the page: timers run only when the test advances time.
