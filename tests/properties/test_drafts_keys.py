"""Properties of draft keys: 1-200 characters of [A-Za-z0-9._:-], nothing else."""

from __future__ import annotations

import string

import pytest
from hypothesis import given
from hypothesis import strategies as st

from django_stability.drafts import InvalidDraftKey, validate_key
from tests.properties import PROPERTY

SAFE = frozenset(string.ascii_letters + string.digits + "._:-")


def _of_length(low: int, high: int) -> st.SearchStrategy[str]:
    """Key-charset text of a length drawn from [low, high]: the boundary cases."""
    return st.integers(low, high).flatmap(
        lambda n: st.text(alphabet=sorted(SAFE), min_size=n, max_size=n)
    )


keys = st.one_of(
    st.text(alphabet=sorted(SAFE), min_size=1, max_size=200), _of_length(198, 200)
)


def _is_key(value: object) -> bool:
    return (
        isinstance(value, str)
        and 1 <= len(value) <= 200
        and set(value) <= SAFE
        and value not in (".", "..")  # dot segments: no URL can carry them
    )


@PROPERTY
@given(keys)
def test_every_key_of_the_charset_and_length_is_accepted_as_is(key: str) -> None:
    """A well-formed key comes back unchanged."""
    assert validate_key(key) == key


@PROPERTY
@given(
    st.one_of(
        st.text(max_size=260),
        keys.map(lambda k: k + "\n"),
        keys.map(lambda k: k + "/x"),
        _of_length(0, 0),
        _of_length(201, 203),
        st.integers(),
        st.none(),
    )
)
def test_anything_else_is_a_400_invalid_draft_key(value: object) -> None:
    """A key outside the rule raises InvalidDraftKey (400 invalid_draft_key), whatever it holds."""
    if _is_key(value):
        assert validate_key(value) == value
        return
    with pytest.raises(InvalidDraftKey) as raised:
        validate_key(value)
    problem = raised.value.problem()
    assert (problem.status, problem.code) == (400, "invalid_draft_key")
