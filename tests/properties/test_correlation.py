"""Properties of correlation IDs: whatever is accepted is safe; whatever is not is replaced."""

from __future__ import annotations

import string
import uuid

from django.http import HttpResponse
from django.test import RequestFactory
from hypothesis import given
from hypothesis import strategies as st

from django_stability.correlation import correlation_scope, is_valid_correlation_id
from django_stability.middleware import CorrelationIdMiddleware
from tests.properties import PROPERTY

SAFE = frozenset(string.ascii_letters + string.digits + "._:-")


def _of_length(low: int, high: int) -> st.SearchStrategy[str]:
    """Safe-charset text of a length drawn from [low, high]: the boundary cases."""
    return st.integers(low, high).flatmap(
        lambda n: st.text(alphabet=sorted(SAFE), min_size=n, max_size=n)
    )


valid_ids = st.one_of(
    st.text(alphabet=sorted(SAFE), min_size=1, max_size=128), _of_length(126, 128)
)
# Anything a header can carry (WSGI gives latin-1 text), plus the odd non-latin-1 text,
# and safe text just around the length bound.
anything = st.one_of(
    st.text(),
    st.text(alphabet=st.characters(max_codepoint=255)),
    _of_length(0, 2),
    _of_length(126, 130),
)


def _is_uuid4(value: str) -> bool:
    try:
        return str(uuid.UUID(value, version=4)) == value
    except ValueError:
        return False


def _answer(**meta: str) -> HttpResponse:
    middleware = CorrelationIdMiddleware(lambda request: HttpResponse())
    request = RequestFactory().get("/")
    request.META.update(meta)
    response = middleware(request)
    assert isinstance(response, HttpResponse)
    return response


@PROPERTY
@given(anything)
def test_an_accepted_id_is_short_and_of_the_safe_charset(value: str) -> None:
    """Accepted means 1-128 characters of [A-Za-z0-9._:-]: no control, space or non-ASCII character."""
    if is_valid_correlation_id(value):
        assert 1 <= len(value) <= 128
        assert set(value) <= SAFE


@PROPERTY
@given(valid_ids)
def test_every_id_of_the_safe_charset_is_accepted(value: str) -> None:
    """The rule rejects nothing it promises to accept."""
    assert is_valid_correlation_id(value)


@PROPERTY
@given(anything)
def test_the_middleware_echoes_a_valid_id_and_replaces_any_other(value: str) -> None:
    """Every response carries a safe ID under each header: the incoming one if valid, else a fresh UUID4."""
    response = _answer(HTTP_X_CORRELATION_ID=value)
    echoed = response["X-Correlation-ID"]
    assert response["X-Request-ID"] == echoed
    assert is_valid_correlation_id(echoed)
    if set(value) <= SAFE and 1 <= len(value) <= 128:
        assert echoed == value
    else:
        assert _is_uuid4(echoed)


@PROPERTY
@given(anything, valid_ids)
def test_an_invalid_first_header_falls_back_to_a_valid_second(
    bad: str, good: str
) -> None:
    """The first valid header among the configured names wins; an invalid one is skipped."""
    if is_valid_correlation_id(bad):
        return
    response = _answer(HTTP_X_CORRELATION_ID=bad, HTTP_X_REQUEST_ID=good)
    assert response["X-Correlation-ID"] == good


@PROPERTY
@given(st.one_of(st.none(), anything))
def test_a_scope_runs_under_a_safe_id(value: str | None) -> None:
    """correlation_scope keeps a valid ID and replaces anything else with a UUID4."""
    with correlation_scope(value) as cid:
        assert is_valid_correlation_id(cid)
        if value is not None and set(value) <= SAFE and 1 <= len(value) <= 128:
            assert cid == value
        else:
            assert _is_uuid4(cid)
