"""ProblemDetailsMiddleware: who gets a problem and who keeps Django's page (Accept, API prefixes, DEBUG)."""

from __future__ import annotations

import pytest

from tests.http_modes import fetch
from tests.middleware.test_problem import (
    API_VIEWS,
    AXIOS,
    BROWSER,
    HTML_VIEWS,
    modes,
    problem,
)


@modes
@pytest.mark.parametrize("base", HTML_VIEWS)
@pytest.mark.parametrize(("kind", "status"), [("404", 404), ("403", 403), ("500", 500)])
async def test_browsers_outside_api_keep_djangos_pages(mode, base, kind, status):
    """A browser outside the API prefixes gets Django's HTML error page, marked Vary: Accept."""
    response = await fetch(
        mode, "get", f"{base}fail/{kind}/", headers={"accept": BROWSER}
    )
    assert response.status_code == status
    assert response["Content-Type"].startswith("text/html")
    assert "Accept" in response["Vary"]


@modes
@pytest.mark.parametrize("base", HTML_VIEWS)
@pytest.mark.parametrize(
    "accept", [AXIOS, "application/json", "application/problem+json"]
)
async def test_json_clients_outside_api_get_problems(mode, base, accept):
    """A client preferring JSON gets a problem on any path, marked Vary: Accept."""
    response = await fetch(mode, "get", f"{base}fail/404/", headers={"accept": accept})
    assert problem(response)["code"] == "not_found"
    assert "Accept" in response["Vary"]


@modes
@pytest.mark.parametrize(
    "accept",
    [
        "",
        "*/*",
        "application/json, text/html",
        "text/html;q=0.5, application/json;q=0.5",
        "application/json;q=0",
        "\x00\x01garbage;;;,,,",
        "a/b/c;q=x, ;q=1",
        "x" * 10_000,
    ],
)
async def test_weird_accept_headers_outside_api_keep_html(mode, accept):
    """Ties, refusals and garbage in Accept keep Django's HTML page; nothing fails."""
    response = await fetch(mode, "get", "/html/fail/404/", headers={"accept": accept})
    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")


@modes
async def test_api_prefix_wins_over_a_browser_accept(mode):
    """Under the API prefixes even a browser gets problem details, without Vary: Accept."""
    response = await fetch(mode, "get", "/api/fail/404/", headers={"accept": BROWSER})
    assert problem(response)["code"] == "not_found"
    assert "Accept" not in response.get("Vary", "")


@modes
@pytest.mark.parametrize("base", HTML_VIEWS)
async def test_application_error_for_browsers_is_an_escaped_html_page(mode, base):
    """ApplicationError outside the API answers its status with a minimal, escaped HTML page."""
    response = await fetch(
        mode, "get", f"{base}more/markup/", headers={"accept": BROWSER}
    )
    assert response.status_code == 400
    assert response["Content-Type"].startswith("text/html")
    assert b"&lt;script&gt;alert(1)&lt;/script&gt;" in response.content
    assert b"<script>" not in response.content


@modes
@pytest.mark.parametrize("base", API_VIEWS)
async def test_debug_shows_exception_text_but_no_traceback(mode, base, settings):
    """With DEBUG on, a 500 problem's detail names the exception and its message, never the traceback."""
    settings.DEBUG = True
    response = await fetch(mode, "get", f"{base}fail/500/")
    body = problem(response)
    assert body["detail"] == "ZeroDivisionError: secret internal detail 42"
    assert b"Traceback" not in response.content
    response = await fetch(mode, "get", f"{base}fail/404/")
    assert problem(response)["detail"] == "no such thing"


@modes
async def test_debug_api_client_without_html_gets_problem_not_plain_traceback(
    mode, settings
):
    """With DEBUG on, Django's plain-text technical 500 (for non-HTML clients) is replaced too."""
    settings.DEBUG = True
    response = await fetch(
        mode, "get", "/api/fail/500/", headers={"accept": "application/json"}
    )
    assert problem(response)["code"] == "server_error"
    assert b"Traceback" not in response.content


@modes
async def test_debug_browsers_keep_the_technical_page(mode, settings):
    """With DEBUG on, a browser outside the API still gets Django's technical 500 page."""
    settings.DEBUG = True
    response = await fetch(mode, "get", "/html/fail/500/", headers={"accept": BROWSER})
    assert response.status_code == 500
    assert b"secret internal detail 42" in response.content
