"""django_stability.correlation: the ID, its contextvar, and the headers that carry it out."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from django.core.exceptions import ImproperlyConfigured
from django.test import override_settings

from django_stability.correlation import (
    correlation_scope,
    get_correlation_id,
    is_valid_correlation_id,
    new_correlation_id,
    outgoing_headers,
    reset_correlation_id,
    set_correlation_id,
)

HEADERS = ("X-Correlation-ID", "X-Request-ID")

# What a hostile or broken client may send. Non-ASCII arrives as latin-1 decoded
# bytes, as WSGI and ASGI servers hand it to Django.
BAD_IDS = {
    "10kB": "A" * 10_240,
    "129 chars": "B" * 129,
    "newline": "abc\ndef",
    "header injection": "abc\r\nSet-Cookie: pwned=1",
    "ANSI escape": "\x1b[31mred-alert\x1b[0m",
    "non-ASCII": "café-42".encode().decode("latin1"),
    "empty": "",
    "space": "abc def",
    "repeated, joined": "dup-id-1,dup-id-1",
}


def is_uuid4(value: str) -> bool:
    try:
        return uuid.UUID(value).version == 4 and str(uuid.UUID(value)) == value
    except ValueError:
        return False


@pytest.mark.parametrize(
    "value",
    ["a", "A" * 128, "req-1.2:3_x", str(uuid.uuid4()), "0"],
)
def test_valid_ids(value: str) -> None:
    """IDs of 1-128 characters from [A-Za-z0-9._:-] are accepted."""
    assert is_valid_correlation_id(value)


@pytest.mark.parametrize(
    "value", [*BAD_IDS.values(), "١٢٣", "abc/def", None, 42, b"abc"]
)
def test_invalid_ids(value: object) -> None:
    """Anything else, non-strings and Unicode digits included, is rejected."""
    assert not is_valid_correlation_id(value)


def test_new_ids_are_distinct_uuid4() -> None:
    """A fresh ID is a canonical UUID4, different each time."""
    ids = {new_correlation_id() for _ in range(100)}
    assert len(ids) == 100
    assert all(is_uuid4(i) and is_valid_correlation_id(i) for i in ids)


def test_set_and_reset() -> None:
    """set_correlation_id() changes the current ID and its token restores the previous one."""
    assert get_correlation_id() is None
    outer = set_correlation_id("outer")
    inner = set_correlation_id("inner")
    assert get_correlation_id() == "inner"
    reset_correlation_id(inner)
    assert get_correlation_id() == "outer"
    reset_correlation_id(outer)
    assert get_correlation_id() is None


def test_set_rejects_invalid_without_echoing_it() -> None:
    """Setting an invalid ID raises ValueError whose message does not contain the value."""
    with pytest.raises(ValueError, match="invalid correlation ID") as info:
        set_correlation_id("evil\nvalue")
    assert "evil" not in str(info.value)
    assert get_correlation_id() is None


@pytest.mark.parametrize(
    ("given", "kept"), [("job-7", True), (None, False), ("bad id\n", False)]
)
def test_correlation_scope(given: str | None, kept: bool) -> None:
    """correlation_scope() uses a valid given ID, else a fresh one, and restores afterwards."""
    with correlation_scope(given) as cid:
        assert get_correlation_id() == cid
        assert (cid == given) is kept
        assert is_valid_correlation_id(cid)
    assert get_correlation_id() is None


def test_outgoing_headers() -> None:
    """outgoing_headers() is empty without an ID, else has the ID under every configured name."""
    assert outgoing_headers() == {}
    with correlation_scope("abc-123"):
        assert outgoing_headers() == {
            "X-Correlation-ID": "abc-123",
            "X-Request-ID": "abc-123",
        }
        with override_settings(STABILITY_CORRELATION_HEADERS=["X-Trace"]):
            assert outgoing_headers() == {"X-Trace": "abc-123"}
        assert list(outgoing_headers()) == list(HEADERS)


@override_settings(STABILITY_CORRELATION_HEADERS=["X-Trace", "Bad Name"])
def test_outgoing_headers_refuse_a_malformed_header_name() -> None:
    """A header name the middleware would refuse at startup is refused for outgoing calls too."""
    with (
        correlation_scope("abc-123"),
        pytest.raises(ImproperlyConfigured, match="Bad Name"),
    ):
        outgoing_headers()


async def test_id_flows_into_sync_to_async() -> None:
    """Sync code run with sync_to_async (in another thread) sees the caller's ID."""
    with correlation_scope("from-async"):
        assert await sync_to_async(get_correlation_id)() == "from-async"
        assert (
            await sync_to_async(get_correlation_id, thread_sensitive=False)()
            == "from-async"
        )


def test_id_flows_into_async_to_sync() -> None:
    """Async code run with async_to_sync sees the caller's ID."""

    async def read() -> str | None:
        await asyncio.sleep(0)
        return get_correlation_id()

    with correlation_scope("from-sync"):
        assert async_to_sync(read)() == "from-sync"


async def test_id_does_not_leak_between_tasks() -> None:
    """Concurrent tasks each keep their own ID."""

    async def serve(cid: str) -> list[str | None]:
        with correlation_scope(cid):
            seen = []
            for _ in range(3):
                await asyncio.sleep(0)
                seen.append(get_correlation_id())
            return seen

    results = await asyncio.gather(*(serve(f"task-{i}") for i in range(5)))
    assert results == [[f"task-{i}"] * 3 for i in range(5)]
