"""Leases: at most ``limit`` holders at once, each until its lease expires, on memory and Redis, sync and async."""

from __future__ import annotations

import pytest

T0 = 1_800_000_000.0


async def test_leases_are_given_up_to_the_limit(api):
    """Two holders fit under a limit of two; a third is refused and nothing of it is stored."""
    assert await api("acquire_lease", "pool", "a", limit=2, ttl=10, now=T0) is True
    assert await api("acquire_lease", "pool", "b", limit=2, ttl=10, now=T0) is True
    assert await api("acquire_lease", "pool", "c", limit=2, ttl=10, now=T0) is False
    assert await api("release_lease", "pool", "c") is False


async def test_a_released_lease_is_free_at_once(api):
    """Releasing hands the place to the next holder; releasing twice frees nothing more."""
    await api("acquire_lease", "pool", "a", limit=1, ttl=10, now=T0)
    assert await api("release_lease", "pool", "a") is True
    assert await api("release_lease", "pool", "a") is False
    assert await api("acquire_lease", "pool", "b", limit=1, ttl=10, now=T0) is True


async def test_a_lease_never_released_expires(api):
    """A holder that died keeps its place until its lease ends, not a millisecond longer."""
    await api("acquire_lease", "pool", "dead", limit=1, ttl=5, now=T0)
    assert (
        await api("acquire_lease", "pool", "b", limit=1, ttl=5, now=T0 + 4.999) is False
    )
    assert await api("acquire_lease", "pool", "b", limit=1, ttl=5, now=T0 + 5) is True


async def test_a_renewed_lease_outlives_its_first_term(api):
    """Renewal moves the lease's end; an unrenewed one beside it expires on time."""
    await api("acquire_lease", "pool", "alive", limit=2, ttl=5, now=T0)
    await api("acquire_lease", "pool", "dead", limit=2, ttl=5, now=T0)
    await api("renew_lease", "pool", "alive", ttl=5, now=T0 + 4)
    assert await api("acquire_lease", "pool", "x", limit=2, ttl=5, now=T0 + 6) is True
    assert await api("acquire_lease", "pool", "y", limit=2, ttl=5, now=T0 + 6) is False


async def test_keys_hold_separate_leases(api):
    """Two keys (two dependencies) never share places."""
    assert await api("acquire_lease", "one", "a", limit=1, ttl=5, now=T0) is True
    assert await api("acquire_lease", "two", "a", limit=1, ttl=5, now=T0) is True


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"limit": 0, "ttl": 5}, TypeError),
        ({"limit": True, "ttl": 5}, TypeError),
        ({"limit": 1, "ttl": 0}, ValueError),
        ({"limit": 1, "ttl": "5"}, TypeError),
    ],
)
async def test_bad_arguments_are_refused_before_anything_is_stored(api, kwargs, error):
    """A limit under one, a lease of no time or a non-number raise; the key stays empty."""
    with pytest.raises(error):
        await api("acquire_lease", "pool", "a", now=T0, **kwargs)
    with pytest.raises(TypeError):
        await api("acquire_lease", "pool", "", limit=1, ttl=5, now=T0)
    assert await api("acquire_lease", "pool", "b", limit=1, ttl=5, now=T0) is True
