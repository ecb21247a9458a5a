"""Properties of the ``STABILITY_CACHE_POLICIES`` matcher in CacheHeadersMiddleware."""

from __future__ import annotations

from django.http import HttpResponse
from django.test import RequestFactory
from hypothesis import given
from hypothesis import strategies as st

from django_stability.middleware import CacheHeadersMiddleware
from tests.properties import PROPERTY

# Short segments from a small alphabet, so that prefixes of each other are common.
segments = st.text(alphabet="ab/", max_size=4)
prefixes = segments.map(lambda s: "/" + s)
paths = st.text(alphabet="ab/", max_size=8).map(lambda s: "/" + s)
values = st.sampled_from(
    ["no-store", "public, max-age=60", "private, no-store", "no-cache", "max-age=0"]
)
policies = st.lists(st.tuples(prefixes, values), max_size=6)
statuses = st.sampled_from([200, 204, 301, 304, 400, 404, 429, 500, 503])


def _cache_control(
    rules: list[tuple[str, str]], path: str, status: int, preset: str | None = None
) -> str | None:
    def view(request: object) -> HttpResponse:
        response = HttpResponse(status=status)
        if preset is not None:
            response["Cache-Control"] = preset
        return response

    middleware = CacheHeadersMiddleware(view, policies=rules, app_version="1")
    request = RequestFactory().post("/")
    # Set as the handler would, even for "//a", which RequestFactory would read as a host.
    request.path_info = path
    response = middleware(request)
    assert isinstance(response, HttpResponse)
    return response.get("Cache-Control")


def _first_match(rules: list[tuple[str, str]], path: str) -> str | None:
    return next((value for prefix, value in rules if path.startswith(prefix)), None)


@PROPERTY
@given(policies, paths)
def test_the_first_policy_whose_prefix_starts_the_path_wins(
    rules: list[tuple[str, str]], path: str
) -> None:
    """A success gets the first matching policy's Cache-Control, and none when nothing matches."""
    assert _cache_control(rules, path, 200) == _first_match(rules, path)


@PROPERTY
@given(policies, prefixes, values, paths)
def test_a_policy_matches_every_path_under_its_prefix_and_no_other(
    rules: list[tuple[str, str]], prefix: str, value: str, path: str
) -> None:
    """Put first, a policy applies to a path iff the path starts with its prefix."""
    got = _cache_control([(prefix, value), *rules], path, 200)
    if path.startswith(prefix):
        assert got == value
    else:
        assert got == _first_match(rules, path)


@PROPERTY
@given(policies, paths, statuses)
def test_errors_get_only_a_no_store_policy(
    rules: list[tuple[str, str]], path: str, status: int
) -> None:
    """An error never gets a cacheable policy (a 404 kept as public); the first match still decides."""
    got = _cache_control(rules, path, status)
    first = _first_match(rules, path)
    if status < 400 or first is not None and "no-store" in first:
        assert got == first
    else:
        assert got is None


@PROPERTY
@given(policies, paths, statuses, values)
def test_a_view_s_own_cache_control_is_never_overridden(
    rules: list[tuple[str, str]], path: str, status: int, preset: str
) -> None:
    """Whatever matches, the Cache-Control the view set is the one sent."""
    assert _cache_control(rules, path, status, preset) == preset
