"""A logged-in user tries another user's private channel, live and through the replay, on a real uvicorn.

Every authenticated user could subscribe to any channel: alice received bob's
``user-<bob>`` events live and replayed its history with ``last_event_id=0``.
Channels are now declared in ``STABILITY_REALTIME["CHANNELS"]``, and the
pattern ``user-{user.pk}`` admits each user to their own channel only.
"""

from __future__ import annotations

import json
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.realtime.servers import Server, forget_realtime_keys, servers
from tests.realtime.test_multiprocess import close_code, next_message, subscribe

pytestmark = pytest.mark.redis

WAIT = 10


@pytest.fixture
def marker() -> Iterator[str]:
    unique = uuid.uuid4().hex[:12]
    yield unique
    forget_realtime_keys(unique)


def sse_status(server: Server, channel: str, user: str) -> int:
    url = f"http://127.0.0.1:{server.port}/stability/events/{channel}/?user={user}&last_event_id=0"
    try:
        with urllib.request.urlopen(url, timeout=WAIT) as response:
            return int(response.status)
    except urllib.error.HTTPError as refused:
        body = json.loads(refused.read())
        assert body["code"] == "forbidden"
        return int(refused.code)


async def test_another_users_private_channel_is_refused_live_and_in_replay(
    tmp_path: Path, marker: str
) -> None:
    from websockets.asyncio.client import connect

    alice, bob = f"alice{marker}", f"bob{marker}"
    policy = {"CHANNELS": {"user-{user.pk}": "authenticated"}}
    with servers(1, tmp_path, realtime=policy) as (server,):
        private = f"user-{bob}"
        server.broadcast(private, [{"secret": "bob's history"}])

        ws = await subscribe(server, private, bob)  # bob's own channel
        server.broadcast(private, [{"secret": "bob's live event"}])
        assert (await next_message(ws))["data"] == {"secret": "bob's live event"}
        await ws.close()

        intruder = await connect(
            f"{server.ws}/{private}/?user={alice}&last_event_id=0",
            open_timeout=WAIT,
            close_timeout=1,
        )
        refusal = json.loads(await intruder.recv())
        assert (refusal["type"], refusal["error"]) == ("error", "forbidden")
        assert await close_code(intruder) == 4403
        assert sse_status(server, private, alice) == 403

        undeclared = await connect(
            f"{server.ws}/notes-{marker}/?user={alice}", open_timeout=WAIT
        )
        assert await close_code(undeclared) == 4403
