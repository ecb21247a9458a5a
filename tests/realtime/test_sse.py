"""EventStreamConsumer through Channels' HttpCommunicator, on both layer/engine backends."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import override_settings

from django_stability.realtime import abroadcast
from django_stability.state import Engine
from tests.realtime.conftest import TIMEOUT, Stream, User


def data_lines(text: str) -> list[Any]:
    return [
        json.loads(line[6:]) for line in text.splitlines() if line.startswith("data: ")
    ]


async def test_the_stream_has_the_proxy_headers_and_a_retry_hint(
    backend: Engine, channel: str
) -> None:
    """The response is text/event-stream, not cached or buffered, and starts with a retry hint."""
    stream = Stream(channel, User())
    start = await stream.start()
    headers = dict(start["headers"])
    assert headers[b"Content-Type"].startswith(b"text/event-stream")
    assert headers[b"Cache-Control"] == b"no-cache"
    assert headers[b"X-Accel-Buffering"] == b"no"
    first = await stream.chunk()
    assert first.startswith("retry: ")
    assert 1000 <= int(first.split()[1]) <= 5000
    await stream.close()


@override_settings(STABILITY_APP_VERSION="9.9.9")
async def test_the_stream_carries_the_correlation_and_version_headers(
    backend: Engine, channel: str
) -> None:
    """The client's valid ID comes back under every configured name, with X-App-Version."""
    stream = Stream(channel, User(), headers=[(b"x-request-id", b"trace-sse-7")])
    headers = dict((await stream.start())["headers"])
    assert headers[b"X-Correlation-ID"] == b"trace-sse-7"
    assert headers[b"X-Request-ID"] == b"trace-sse-7"
    assert headers[b"X-App-Version"] == b"9.9.9"
    await stream.close()


async def test_head_gets_the_stream_head_and_ends(
    backend: Engine, channel: str
) -> None:
    """HEAD is admitted like GET and answered with the stream's headers, then ended."""
    stream = Stream(channel, User(), method="HEAD")
    start = await stream.start()
    assert start["status"] == 200
    assert dict(start["headers"])[b"Content-Type"].startswith(b"text/event-stream")
    while (await stream.comm.receive_output(TIMEOUT)).get("more_body"):
        pass  # HEAD's body parts (the server sends none of them on the wire)
    await stream.comm.wait(TIMEOUT)


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "OPTIONS"])
async def test_other_methods_are_405_at_once(
    backend: Engine, channel: str, method: str
) -> None:
    """Before any body arrives in full: 405 with Allow, and the rest of the body is never read."""
    stream = Stream(channel, User(), method=method)
    await stream.comm.send_input(
        {"type": "http.request", "body": b"x" * 1000, "more_body": True}
    )
    start = await stream.comm.receive_output(TIMEOUT)
    assert start["status"] == 405
    assert dict(start["headers"])[b"Allow"] == b"GET, HEAD"
    body = json.loads((await stream.comm.receive_output(TIMEOUT))["body"])
    assert body["code"] == "method_not_allowed"
    await stream.comm.wait(TIMEOUT)


async def test_a_get_body_is_not_waited_for(backend: Engine, channel: str) -> None:
    """A GET that announces a body is answered from its first chunk on."""
    stream = Stream(channel, User())
    await stream.comm.send_input(
        {"type": "http.request", "body": b"x" * 1000, "more_body": True}
    )
    start = await stream.comm.receive_output(TIMEOUT)
    assert start["status"] == 200
    await stream.comm.send_input(
        {"type": "http.request", "body": b"y" * 1000, "more_body": True}
    )
    text = ""
    while "event: subscribed" not in text:
        text += await stream.chunk()
    await stream.close()


async def test_live_events_are_streamed_with_ids(backend: Engine, channel: str) -> None:
    """An event broadcast after subscribing arrives as an SSE message carrying its id."""
    stream = Stream(channel, User())
    await stream.open()
    eid = await abroadcast(channel, {"n": 1})
    assert await stream.chunk() == f'id: {eid}\ndata: {{"n":1}}\n\n'
    await stream.close()


@pytest.mark.parametrize("via", ["header", "query"])
async def test_resuming_replays_missed_events(
    backend: Engine, channel: str, via: str
) -> None:
    """Last-Event-ID (or ?last_event_id=) replays the missed events once, in order."""
    first = await abroadcast(channel, {"n": 0})
    for n in (1, 2):
        await abroadcast(channel, {"n": n})
    if via == "header":
        stream = Stream(
            channel, User(), headers=[(b"last-event-id", str(first).encode())]
        )
    else:
        stream = Stream(channel, User(), query=f"last_event_id={first}")
    text = await stream.open()
    assert [d.get("n") for d in data_lines(text)] == [1, 2, None]
    assert text.count("id: ") == 2
    await stream.close()


@override_settings(STABILITY_REALTIME={"REPLAY_MAX_EVENTS": 1})
async def test_an_id_older_than_the_log_gets_a_reset_event(
    backend: Engine, channel: str
) -> None:
    """A Last-Event-ID the log no longer covers yields a reset event, then what the log still holds."""
    first = await abroadcast(channel, {"n": 0})
    dropped = await abroadcast(channel, {"n": 1})
    last = await abroadcast(channel, {"n": 2})
    stream = Stream(channel, User(), headers=[(b"last-event-id", str(first).encode())])
    text = await stream.open()
    assert f"event: reset\nid: {dropped}\n" in text
    assert data_lines(text)[:2] == [
        {"channel": channel, "last_event_id": dropped},
        {"n": 2},
    ]
    assert f"id: {last}\ndata: " in text
    await stream.close()


async def test_keep_alives_are_comments(backend: Engine, channel: str) -> None:
    """Every heartbeat interval the stream carries a comment line, ignored by EventSource."""
    stream = Stream(channel, User())
    await stream.open()
    stream.ticks.put_nowait(None)
    assert await stream.chunk() == ": keep-alive\n\n"
    await stream.close()


@pytest.mark.parametrize(
    ("channel_name", "user", "query", "status", "code"),
    [
        ("ok", User(authenticated=False), "", 401, "unauthenticated"),
        ("private.x", User(), "", 403, "forbidden"),
        ("bad$", User(), "", 400, "bad_request"),
        ("ok", User(), "last_event_id=x1", 400, "bad_request"),
    ],
)
async def test_refusals_are_problem_responses(
    backend: Engine, channel_name: str, user: Any, query: str, status: int, code: str
) -> None:
    """Refused subscriptions get the matching HTTP status and a problem+json body."""
    stream = Stream(channel_name, user, query=query)
    start = await stream.start()
    assert start["status"] == status
    headers = dict(start["headers"])
    assert headers[b"Content-Type"] == b"application/problem+json"
    body = json.loads(await stream.chunk())
    assert body["code"] == code
    # The ID to quote when reporting the refusal, in the body and the headers.
    assert body["correlation_id"] == headers[b"X-Correlation-ID"].decode()
    assert headers[b"X-App-Version"]


@override_settings(STABILITY_REALTIME={"MAX_CONNECTIONS_PER_USER": 1})
async def test_over_the_cap_is_429_with_retry_after(
    backend: Engine, channel: str
) -> None:
    """A second stream for a user capped at one gets 429 and Retry-After."""
    user = User()
    first = Stream(channel, user)
    await first.open()
    second = Stream(channel, user)
    start = await second.start()
    assert start["status"] == 429
    assert int(dict(start["headers"])[b"Retry-After"]) >= 1
    await first.close()


@override_settings(STABILITY_APP_VERSION="9.9.9")
async def test_subscribed_tells_the_servers_version(
    backend: Engine, channel: str
) -> None:
    """The stream's subscribed event carries the server's version, as the WebSocket's does."""
    stream = Stream(channel, User())
    text = await stream.open()
    assert data_lines(text)[-1]["version"] == "9.9.9"
    await stream.close()
