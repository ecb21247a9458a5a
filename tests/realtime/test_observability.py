"""What operators see of the realtime layer: log lines with the correlation ID and user, metrics."""

from __future__ import annotations

from prometheus_client import REGISTRY

from django_stability.realtime import abroadcast
from django_stability.state import Engine
from tests.logcapture import capture_logs
from tests.realtime.conftest import Client, User


def sample(name: str, transport: str = "websocket") -> float:
    return REGISTRY.get_sample_value(name, {"transport": transport}) or 0.0


async def test_log_lines_carry_the_correlation_id_user_and_channel(
    backend: Engine, channel: str
) -> None:
    """The client's X-Correlation-ID, the user and the channel are on the consumer's log lines."""
    user = User()
    with capture_logs() as logs:
        client = Client(channel, user)
        client.comm.scope["headers"] = [(b"x-correlation-id", b"trace-42")]
        await client.subscribe()
        await client.comm.disconnect()
    for event in ("realtime.subscribed", "realtime.disconnected"):
        line = logs.one(event, realtime_channel=channel)
        assert line["correlation_id"] == "trace-42"
        assert line["user_id"] == user.pk


async def test_an_invalid_correlation_id_is_replaced(
    backend: Engine, channel: str
) -> None:
    """An invalid incoming correlation ID is never logged: the connection gets a fresh one."""
    with capture_logs() as logs:
        client = Client(channel, User())
        client.comm.scope["headers"] = [(b"x-correlation-id", b"bad id with spaces")]
        await client.subscribe()
        await client.comm.disconnect()
    line = logs.one("realtime.subscribed", realtime_channel=channel)
    assert line["correlation_id"] != "bad id with spaces"
    assert len(line["correlation_id"]) == 36
    assert "bad id" not in logs.text


async def test_connections_and_replayed_events_are_counted(
    backend: Engine, channel: str
) -> None:
    """stability_realtime_connections follows open connections; replayed events are counted."""
    before = sample("stability_realtime_connections")
    replayed_before = sample("stability_realtime_replayed_total")
    first = await abroadcast(channel, {"n": 0})
    for n in (1, 2):
        await abroadcast(channel, {"n": n})
    client = Client(channel, User(), f"last_event_id={first}")
    await client.connect()
    assert [(await client.recv())["type"] for _ in range(3)] == [
        "event",
        "event",
        "subscribed",
    ]
    assert sample("stability_realtime_connections") == before + 1
    assert sample("stability_realtime_replayed_total") == replayed_before + 2
    await client.comm.disconnect()
    assert sample("stability_realtime_connections") == before
