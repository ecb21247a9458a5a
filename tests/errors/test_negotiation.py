"""Who gets problem details: the Accept header and the API prefixes (errors/_negotiation.py)."""

from __future__ import annotations

import pytest
from django.test import RequestFactory

from django_stability.errors import wants_problem
from django_stability.errors._negotiation import (
    api_prefixes,
    is_json_type,
    prefers_json,
)
from tests.errors import BROWSER


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        ("application/json", True),
        ("application/problem+json", True),
        ("application/vnd.api+json", True),
        ("APPLICATION/JSON", True),
        ("application/json, text/plain, */*", True),
        ("application/*", True),
        ("text/html;q=0.5, application/json", True),
        ("text/html;q=0, */*", True),
        ("application/json;q=0.9, text/*;q=0.1", True),
        ("", False),
        ("*/*", False),
        ("text/html", False),
        (BROWSER, False),
        ("application/json, text/html", False),
        ("text/html, application/json", False),
        ("application/json;q=0", False),
        ("application/json;q=0, */*", False),
        ("application/json;q=0.5, text/html;q=0.6", False),
        ("text/plain", False),
        ("*/json", False),
        ("application/json;q=abc", False),
        ("application/json;q=2", False),
        ("application/json;q=nan", False),
        ("application/json;q=inf", False),
        ("json", False),
        (",,,;;;", False),
        ("\x00\x1b[31m", False),
        ("application/json" + ", x/y" * 5000, True),
    ],
)
def test_prefers_json(accept, expected):
    """JSON must beat HTML by quality, or tie it with a more specific range; garbage is ignored."""
    assert prefers_json(accept) is expected


@pytest.mark.parametrize(
    ("content_type", "expected"),
    [
        ("application/json", True),
        ("application/problem+json", True),
        ("Application/JSON; charset=utf-8", True),
        ("text/html; charset=utf-8", False),
        ("text/json-ish", False),
        ("", False),
    ],
)
def test_is_json_type(content_type, expected):
    """JSON content types are application/json and any +json type, parameters ignored."""
    assert is_json_type(content_type) is expected


def test_wants_problem_by_prefix_or_accept(settings):
    """A request wants problems under a prefix, or when it prefers JSON; explicit prefixes override."""
    factory = RequestFactory()
    assert wants_problem(factory.get("/api/x", headers={"accept": BROWSER}))
    assert not wants_problem(factory.get("/shop/x", headers={"accept": BROWSER}))
    assert wants_problem(factory.get("/shop/x", headers={"accept": "application/json"}))
    assert wants_problem(factory.get("/shop/x"), ("/shop/",))


def test_api_prefixes_cache_refreshes_on_setting_change(settings):
    """The cached prefix tuple follows STABILITY_API_PREFIXES when it changes."""
    settings.STABILITY_API_PREFIXES = ["/v1/"]
    assert api_prefixes() == ("/v1/",)
    settings.STABILITY_API_PREFIXES = ["/v2/", "/v3/"]
    assert api_prefixes() == ("/v2/", "/v3/")
