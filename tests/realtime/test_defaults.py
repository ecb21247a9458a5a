"""The consumers as routed by django_stability.realtime.routing, with their default hooks."""

from __future__ import annotations

from typing import Any

from channels.routing import URLRouter
from channels.testing import HttpCommunicator, WebsocketCommunicator
from django.test import override_settings

from django_stability.realtime.routing import http_urlpatterns, websocket_urlpatterns
from django_stability.state import Engine
from tests.realtime.conftest import User

ws_app = URLRouter(websocket_urlpatterns)
sse_app = URLRouter(http_urlpatterns)


async def recv(comm: WebsocketCommunicator) -> Any:
    return await comm.receive_json_from(timeout=5)


async def subscribe(channel: str, user: Any) -> tuple[bool, int | None]:
    """Open a WebSocket to ``channel`` as ``user``: admitted, or the close code."""
    comm = WebsocketCommunicator(ws_app, f"/ws/stability/events/{channel}/")
    comm.scope["user"] = user
    connected, code = await comm.connect(timeout=5)
    if not connected:
        return False, code
    first = await recv(comm)
    if first["type"] == "error":  # accepted to say why, then closed
        closed = await comm.receive_output(5)
        return False, closed["code"]
    assert first["type"] == "subscribed"
    await comm.disconnect()
    return True, None


async def sse_status(channel: str, user: Any) -> int:
    comm = HttpCommunicator(sse_app, "GET", f"/stability/events/{channel}/")
    comm.scope["user"] = user
    await comm.send_input({"type": "http.request", "body": b""})
    status = int((await comm.receive_output(5))["status"])
    await comm.send_input({"type": "http.disconnect"})
    await comm.wait(5)
    return status


async def test_undeclared_channels_are_refused_by_default(backend: Engine) -> None:
    """With no CHANNELS declared, an authenticated user is refused every channel: 4403, SSE 403."""
    for channel in ("private.x", "notes", "a:b.c-d_e"):
        assert await subscribe(channel, User()) == (False, 4403)
        assert await sse_status(channel, User()) == 403


def may_join(user: Any, channel: str) -> bool:
    return channel.endswith("-open")


async def may_join_later(user: Any, channel: str) -> bool:
    return channel.endswith("-open")


class Staff(User):
    is_staff = True


POLICY = {
    "CHANNELS": {
        "notes": "authenticated",
        "user-{user.pk}": "authenticated",
        "ops-*": "staff",
        "rooms-*": "tests.realtime.test_defaults.may_join",
        "halls-*": "tests.realtime.test_defaults.may_join_later",
    }
}


@override_settings(STABILITY_REALTIME=POLICY)
async def test_declared_channels_admit_by_their_rule(backend: Engine) -> None:
    """Each declared pattern admits by its rule; the user's own channel is theirs alone."""
    alice, bob = User(), User()
    assert await subscribe("notes", alice) == (True, None)
    assert await subscribe(f"user-{alice.pk}", alice) == (True, None)
    assert await subscribe(f"user-{alice.pk}", bob) == (False, 4403)
    assert await sse_status(f"user-{alice.pk}", bob) == 403
    assert await subscribe("ops-alerts", alice) == (False, 4403)
    assert await subscribe("ops-alerts", Staff()) == (True, None)
    assert await subscribe("rooms-open", alice) == (True, None)
    assert await subscribe("rooms-closed", alice) == (False, 4403)
    assert await subscribe("halls-open", alice) == (True, None)
    assert await subscribe("halls-closed", alice) == (False, 4403)
    assert await subscribe("notes-2", alice) == (False, 4403)  # no pattern matches
    assert await subscribe("notes", User(authenticated=False)) == (False, 4401)


@override_settings(
    STABILITY_REALTIME={"HEARTBEAT": 0.05, "CHANNELS": {"*": "authenticated"}}
)
async def test_heartbeats_come_every_heartbeat_seconds(
    backend: Engine, channel: str
) -> None:
    """With the default ticks(), a heartbeat arrives after HEARTBEAT seconds, and again."""
    comm = WebsocketCommunicator(ws_app, f"/ws/stability/events/{channel}/")
    comm.scope["user"] = User()
    await comm.connect(timeout=5)
    subscribed = await recv(comm)
    assert subscribed["heartbeat"] == 0.05
    for _ in range(2):
        assert await recv(comm) == {"type": "heartbeat"}
        await comm.send_json_to({"type": "heartbeat"})
    await comm.disconnect()


@override_settings(
    STABILITY_REALTIME={"HEARTBEAT": 0.05, "CHANNELS": {"*": "authenticated"}}
)
async def test_sse_keep_alives_come_every_heartbeat_seconds(
    backend: Engine, channel: str
) -> None:
    """The SSE stream, routed at stability/events/<channel>/, sends keep-alive comments on its own."""
    comm = HttpCommunicator(sse_app, "GET", f"/stability/events/{channel}/")
    comm.scope["user"] = User()
    await comm.send_input({"type": "http.request", "body": b""})
    assert (await comm.receive_output(5))["status"] == 200
    text = ""
    while ": keep-alive" not in text:
        text += (await comm.receive_output(5))["body"].decode()
    assert "event: subscribed" in text
    await comm.send_input({"type": "http.disconnect"})
    await comm.wait(5)
