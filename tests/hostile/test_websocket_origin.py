"""A page on another site cannot open a logged-in user's WebSocket: the library's route checks Origin."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from tests.fixtures.redis_server import free_port
from tests.hostile.servers import wait_listening
from tests.realtime.servers import ROOT, uvicorn_command

WAIT = 20.0


@pytest.fixture
def ws_url(tmp_path: Path) -> Iterator[str]:
    """The bare-routing project under uvicorn; its WebSocket URL for user 7."""
    port = free_port()
    log = tmp_path / "uvicorn.log"
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "PYTHONPATH": str(ROOT),
    }
    with log.open("ab") as out:
        process = subprocess.Popen(
            uvicorn_command("tests.hostile._ws_server:application", port),
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_listening(process, "127.0.0.1", port, log)
        yield f"ws://127.0.0.1:{port}/ws/stability/events/news/?user=7"
    finally:
        process.terminate()
        process.wait(10)


async def _handshake(url: str, origin: str | None) -> int:
    """The HTTP status of the handshake: 101 when the connection opened."""
    headers = {} if origin is None else {"Origin": origin}
    try:
        async with asyncio.timeout(WAIT):
            async with connect(
                url, additional_headers=headers, open_timeout=WAIT
            ) as ws:
                hello = json.loads(await ws.recv())
                assert hello  # the consumer answered: the subscription is live
                return 101
    except InvalidStatus as refused:
        return refused.response.status_code


def test_a_foreign_origin_is_refused_and_an_allowed_one_connects(ws_url: str) -> None:
    """Origin evil.example gets 403; the site's own origin and non-browser clients connect."""
    assert asyncio.run(_handshake(ws_url, "https://evil.example")) == 403
    assert asyncio.run(_handshake(ws_url, "null")) == 403
    assert asyncio.run(_handshake(ws_url, "http://127.0.0.1.evil.example")) == 403
    assert asyncio.run(_handshake(ws_url, "http://127.0.0.1:8000")) == 101
    assert asyncio.run(_handshake(ws_url, None)) == 101
