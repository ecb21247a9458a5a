"""The WebSocket route's Origin check: no Origin (not a browser) passes, a browser's must be an allowed host."""

from __future__ import annotations

import pytest
from channels.testing import WebsocketCommunicator
from django.test import override_settings

from django_stability.realtime._origin import OriginCheck, origin_allowed


@pytest.mark.parametrize(
    ("headers", "allowed"),
    [
        ([], True),
        ([(b"origin", b"https://evil.example")], False),
        ([(b"origin", b"https://127.0.0.1")], True),
        ([(b"origin", b"null")], False),
        (
            [(b"origin", b"https://127.0.0.1"), (b"origin", b"https://evil.example")],
            False,
        ),
        ([(b"origin", b"http://[::1")], False),
    ],
)
def test_the_origin_rule(headers: list[tuple[bytes, bytes]], allowed: bool) -> None:
    """No Origin (not a browser) passes; an Origin must be one of ALLOWED_HOSTS."""
    with override_settings(ALLOWED_HOSTS=["127.0.0.1"], DEBUG=False):
        assert origin_allowed(headers) is allowed


@override_settings(ALLOWED_HOSTS=[], DEBUG=True)
def test_debug_without_allowed_hosts_allows_the_local_names() -> None:
    """As Channels' validator does: localhost, 127.0.0.1 and [::1] while DEBUG is on."""
    assert origin_allowed([(b"origin", b"http://localhost:8000")])
    assert not origin_allowed([(b"origin", b"http://example.com")])


async def test_a_refused_handshake_never_reaches_the_consumer() -> None:
    """OriginCheck closes a foreign Origin's handshake before accepting (the server's 403); the application is not called."""
    called = []

    async def application(scope: object, receive: object, send: object) -> None:
        called.append(scope)

    headers = [(b"origin", b"https://evil.example")]
    comm = WebsocketCommunicator(OriginCheck(application), "/ws/", headers=headers)
    with override_settings(ALLOWED_HOSTS=["127.0.0.1"], DEBUG=False):
        connected, _ = await comm.connect(timeout=5)
    assert (connected, called) == (False, [])
