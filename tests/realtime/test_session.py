"""Admission of a subscriber: each refusal, in the documented order, with its close code."""

from __future__ import annotations

import pytest
from django.test import override_settings

from django_stability.realtime._session import admit
from django_stability.realtime._settings import realtime_config
from django_stability.state import Engine
from tests.realtime.conftest import Client, User


async def test_the_first_failed_step_decides(backend: Engine) -> None:
    """Channel name, last_event_id, authentication, then can_subscribe: the first failure is the answer."""
    asked: list[str] = []

    def only_public(user: object, channel: str) -> bool:
        asked.append(channel)
        return channel == "public"

    async def refusal(channel: str, raw_id: str | None, user: object) -> int | None:
        config = realtime_config()
        session, refused, _ = await admit(channel, raw_id, user, only_public, config)
        if session is not None:
            await session.release()
            return None
        assert refused is not None
        return refused.code

    assert await refusal("bad$", "x", None) == 4400
    assert await refusal("public", "x", None) == 4400
    assert await refusal("public", None, None) == 4401
    assert await refusal("public", None, User(authenticated=False)) == 4401
    assert asked == []
    assert await refusal("private", None, User()) == 4403
    assert await refusal("public", "", User()) is None
    assert asked == ["private", "public"]


async def test_anonymous_users_are_closed_with_4401(
    backend: Engine, channel: str
) -> None:
    """An unauthenticated connection is told why and closed with 4401."""
    for user in (User(authenticated=False), None):
        client = Client(channel, user)
        await client.connect()
        assert (await client.recv())["error"] == "unauthenticated"
        assert await client.closed_with() == 4401


async def test_a_forbidden_channel_is_closed_with_4403(backend: Engine) -> None:
    """can_subscribe() returning False closes the connection with 4403."""
    client = Client("private.x", User())
    await client.connect()
    assert (await client.recv())["error"] == "forbidden"
    assert await client.closed_with() == 4403


@pytest.mark.parametrize(
    ("channel_name", "query"),
    [
        ("bad$name", ""),
        ("a" * 201, ""),
        ("ok", "last_event_id=abc"),
        ("ok", "last_event_id=-1"),
    ],
)
async def test_bad_input_is_closed_with_4400(
    backend: Engine, channel_name: str, query: str
) -> None:
    """A bad channel name or last_event_id gets an error message and close code 4400."""
    client = Client(channel_name, User(), query)
    await client.connect()
    message = await client.recv()
    assert message["type"] == "error" and message["error"] == "bad_request"
    assert await client.closed_with() == 4400


@override_settings(STABILITY_REALTIME={"MAX_CONNECTIONS_PER_USER": 2})
async def test_the_per_user_cap_closes_with_4429(backend: Engine, channel: str) -> None:
    """A user's third connection is refused with 4429; closing one lets a new one in."""
    user = User()
    first, second, third = (Client(channel, user) for _ in range(3))
    await first.subscribe()
    await second.subscribe()
    await third.connect()
    refusal = await third.recv()
    assert refusal["error"] == "too_many_connections" and refusal["retry_after"] > 0
    assert await third.closed_with() == 4429
    other_user = Client(channel, User())
    await other_user.subscribe()
    await first.comm.disconnect()
    fourth = Client(channel, user)
    await fourth.subscribe()
    for client in (second, other_user, fourth):
        await client.comm.disconnect()


@override_settings(STABILITY_REALTIME={"CONNECT_RATE": "2/m"})
async def test_the_connect_rate_closes_with_4429(backend: Engine, channel: str) -> None:
    """The third connection attempt within a minute is refused with connect_rate and 4429."""
    user = User()
    for _ in range(2):
        client = Client(channel, user)
        await client.subscribe()
        await client.comm.disconnect()
    client = Client(channel, user)
    await client.connect()
    refusal = await client.recv()
    assert refusal["error"] == "connect_rate" and refusal["retry_after"] >= 1
    assert await client.closed_with() == 4429
