"""Who may subscribe: ``STABILITY_REALTIME["CHANNELS"]``, denying by default, through the routed consumers."""

from __future__ import annotations

from typing import Any

from channels.testing import HttpCommunicator, WebsocketCommunicator
from django.test import override_settings

from django_stability.realtime._policy import allowed
from django_stability.state import Engine
from tests.realtime.conftest import User
from tests.realtime.test_routing import recv, sse_app, ws_app


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
        "rooms-*": "tests.realtime.test_policy.may_join",
        "halls-*": "tests.realtime.test_policy.may_join_later",
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


class Named(User):
    def __init__(self, username: str) -> None:
        super().__init__()
        self.username = username
        self.perms: set[str] = set()

    def has_perm(self, perm: str) -> bool:
        return perm in self.perms


@override_settings(
    STABILITY_REALTIME={
        "CHANNELS": {
            "by-{user.username}": "authenticated",
            "a.b": "authenticated",
            "reports": "perm:auth.view_user",
        }
    }
)
async def test_patterns_match_literally_and_permissions_are_asked() -> None:
    """Only * widens a pattern: dots and a username's characters match themselves."""
    odd = Named("a.*")
    assert await allowed(odd, "by-a.*")
    assert not await allowed(odd, "by-aXYZ")
    assert await allowed(odd, "a.b")
    assert not await allowed(odd, "aXb")
    assert not await allowed(odd, "reports")
    odd.perms.add("auth.view_user")
    assert await allowed(odd, "reports")
