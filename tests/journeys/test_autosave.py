"""Journeys through the example's note form: what a writer sees after reloads, closed tabs, two tabs and outages.

Each test drives the real page in headless Chromium against ``manage.py
runserver``, checks what the person sees (the form's text, the autosave status,
the conflict message) and what the server stores (through the drafts API), and
leaves a screenshot of its last page at ``<tmp_path>/final.png``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.browser.conftest import KEY, OFFLINE, SAVED, WAIT, local_copy, log_in

DRAFT = f"/stability/drafts/{KEY}"
CHOOSE = "Changed in another tab - kept on this device until you choose"


def server_draft(context: Any, base: str) -> Any:
    """The draft the server holds for the logged-in user, or None."""
    response = context.request.get(base + DRAFT)
    if response.status == 404:
        return None
    assert response.ok, response.text()
    return response.json()


# Polls the drafts API from inside the page and sets window.serverHas once the
# draft's body is ``text``: wait_for_function itself takes a Promise as truthy.
POLL_SERVER = """([url, text]) => {
  window.serverHas = false;
  const poll = async () => {
    const response = await fetch(url, { cache: "no-store" });
    const draft = response.ok ? await response.json() : null;
    if (draft !== null && draft.data.body === text) window.serverHas = true;
    else setTimeout(poll, 100);
  };
  poll();
}"""


def wait_for_server_draft(page: Any, text: str) -> None:
    """Wait until the server's draft has ``text`` as its body (asked from ``page``)."""
    page.evaluate(POLL_SERVER, [DRAFT, text])
    page.wait_for_function("window.serverHas === true", timeout=WAIT)


def wait_until_nothing_pending(page: Any) -> None:
    """Wait until the page has taken its device copy back: the server confirmed what it holds."""
    page.wait_for_function(
        "() => Object.keys(localStorage).every((k) => !k.startsWith('stability:draft:'))",
        timeout=WAIT,
    )


def test_a_reload_right_after_typing_keeps_the_text(
    server: Any, browser: Any, tmp_path: Path
) -> None:
    """Text typed 0.3 s before a reload (well inside the 2 s debounce) is in the form afterwards and on the server."""
    from playwright.sync_api import expect

    context = browser.new_context()
    page = context.new_page()
    log_in(page, server.base)
    page.fill("#id_title", "Letter")
    page.click("#id_body")
    page.keyboard.type("Dear Ann, the keys are under the mat")
    page.wait_for_timeout(300)  # the journey: reload 0.3 s after the last keystroke
    page.reload()

    expect(page.locator("#id_title")).to_have_value("Letter", timeout=WAIT)
    expect(page.locator("#id_body")).to_have_value(
        "Dear Ann, the keys are under the mat"
    )
    expect(page.locator("[data-autosave-status]")).to_have_text(SAVED, timeout=WAIT)
    stored = server_draft(context, server.base)
    assert stored["data"] == {
        "title": "Letter",
        "body": "Dear Ann, the keys are under the mat",
    }
    assert local_copy(page) is None  # the server has it: nothing left pending here
    page.screenshot(path=tmp_path / "final.png")


def test_closing_a_tab_mid_typing_keeps_the_text_on_the_server(
    server: Any, browser: Any, tmp_path: Path
) -> None:
    """A tab closed mid-sentence flushes the text on pagehide: the server has it, and a new tab shows it."""
    from playwright.sync_api import expect

    context = browser.new_context()
    page = context.new_page()
    log_in(page, server.base)
    page.click("#id_body")
    page.keyboard.type("Half a thought, then the tab clo")
    page.close()  # long before the debounce would have saved it

    # A page that autosaves nothing, to ask the server without uploading the device copy.
    probe = context.new_page()
    probe.goto(server.base + "/stability/version")
    wait_for_server_draft(probe, "Half a thought, then the tab clo")
    probe.close()

    again = context.new_page()
    again.goto(server.base + "/")
    expect(again.locator("#id_body")).to_have_value(
        "Half a thought, then the tab clo", timeout=WAIT
    )
    expect(again.locator("[data-autosave-status]")).to_have_text(SAVED, timeout=WAIT)
    assert server_draft(context, server.base)["version"] == 1
    again.screenshot(path=tmp_path / "final.png")


@pytest.mark.parametrize(
    ("choice", "kept"),
    [("Use the saved version", "Shopping list"), ("Keep mine", "Packing list")],
)
def test_two_tabs_starting_the_same_draft_show_a_conflict_to_resolve(
    server: Any, browser: Any, tmp_path: Path, choice: str, kept: str
) -> None:
    """The second tab to save a new draft shows the conflict instead of overwriting; the writer's choice is what stays."""
    from playwright.sync_api import expect

    context = browser.new_context()
    first = context.new_page()
    log_in(first, server.base)
    second = context.new_page()
    second.goto(server.base + "/")  # both tabs open with no draft yet

    first.fill("#id_title", "Shopping list")
    expect(first.locator("[data-autosave-status]")).to_have_text(SAVED, timeout=WAIT)
    second.fill("#id_title", "Packing list")

    box = second.locator("#draft-conflict")
    expect(box).to_be_visible(timeout=WAIT)
    expect(box).to_contain_text("Shopping list")  # what the other tab saved
    expect(second.locator("[data-autosave-status]")).to_have_text(CHOOSE)
    # Nothing is overwritten while the writer decides, and their text is on the device.
    assert server_draft(context, server.base)["data"]["title"] == "Shopping list"
    assert local_copy(second)["data"]["title"] == "Packing list"

    second.screenshot(path=tmp_path / "conflict.png")
    second.get_by_role("button", name=choice).click()
    expect(box).to_be_hidden()
    expect(second.locator("#id_title")).to_have_value(kept)
    expect(second.locator("[data-autosave-status]")).to_have_text(SAVED, timeout=WAIT)
    stored = server_draft(context, server.base)
    assert stored["data"]["title"] == kept
    assert stored["version"] == (1 if kept == "Shopping list" else 2)

    # Resolved: the tab saves as usual again.
    second.fill("#id_body", "and then some")
    expect(second.locator("[data-autosave-status]")).to_have_text(SAVED, timeout=WAIT)
    wait_for_server_draft(second, "and then some")
    wait_until_nothing_pending(second)
    second.screenshot(path=tmp_path / "final.png")


def test_typing_offline_is_uploaded_when_back_online(
    server: Any, browser: Any, tmp_path: Path
) -> None:
    """Text typed with the network down says "Offline - saved on this device" and reaches the server once back."""
    from playwright.sync_api import expect

    context = browser.new_context()
    page = context.new_page()
    log_in(page, server.base)
    status = page.locator("[data-autosave-status]")
    page.fill("#id_title", "Trip notes")
    expect(status).to_have_text(SAVED, timeout=WAIT)

    context.set_offline(True)
    page.click("#id_body")
    page.keyboard.type("Tunnel ahead. ")
    expect(status).to_have_text(OFFLINE, timeout=WAIT)
    page.keyboard.type("Still no signal.")
    assert local_copy(page)["data"]["body"] == "Tunnel ahead. Still no signal."

    context.set_offline(False)
    expect(status).to_have_text(SAVED, timeout=WAIT)
    wait_for_server_draft(page, "Tunnel ahead. Still no signal.")
    stored = server_draft(context, server.base)
    assert stored["data"] == {
        "title": "Trip notes",
        "body": "Tunnel ahead. Still no signal.",
    }
    expect(page.locator("#id_body")).to_have_value("Tunnel ahead. Still no signal.")
    wait_until_nothing_pending(page)
    page.screenshot(path=tmp_path / "final.png")


def test_a_page_with_no_draft_loads_without_errors(
    server: Any, browser: Any, tmp_path: Path
) -> None:
    """Opening the form with no draft asks the server for none (the page says so) and logs no error."""
    from playwright.sync_api import expect

    page = browser.new_context().new_page()
    log_in(page, server.base)
    errors: list[str] = []
    drafts: list[str] = []
    page.on(
        "console",
        lambda message: (
            errors.append(f"{message.text} ({message.location['url']})")
            if message.type == "error"
            else None
        ),
    )
    page.on(
        "requestfailed",
        lambda request: (
            errors.append(f"{request.url}: {request.failure}")
            # A request the next navigation cut short (the login page's icon) is no failure.
            if request.failure != "net::ERR_ABORTED"
            else None
        ),
    )
    page.on(
        "response",
        lambda response: (
            errors.append(f"{response.url}: {response.status}")
            if response.status >= 400
            else None
        ),
    )
    page.on(
        "request",
        lambda request: (
            drafts.append(request.url) if "/stability/drafts/" in request.url else None
        ),
    )
    page.goto(server.base + "/")  # the form, this time watched from the start
    expect(page.locator("[data-autosave-status]")).to_have_text("")
    assert drafts == []  # the page says there is no draft: nothing to ask
    page.fill("#id_title", "First words")
    expect(page.locator("[data-autosave-status]")).to_have_text(SAVED, timeout=WAIT)

    # runserver serves no WebSocket: the live list's refused handshakes are not this page's drafts.
    errors = [e for e in errors if not e.startswith("WebSocket connection to ")]
    assert errors == []
    assert drafts == [server.base + "/stability/drafts/notes%3Anew"]  # the save, no GET
    page.screenshot(path=tmp_path / "final.png")
