"""stability.js's StabilitySocket against a real uvicorn server, run by Node's WebSocket.

Node 20's ``--experimental-websocket`` gives the client a real WebSocket; the
page's ``document`` is a stand-in whose ``hidden`` flag the test flips. Skipped
when Node is not installed.
"""

from __future__ import annotations

import json
import queue
import shutil
import signal
import subprocess
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import django_stability
from tests.fixtures.redis_server import RedisServer
from tests.realtime.servers import forget_realtime_keys, servers

pytestmark = [
    pytest.mark.redis,
    pytest.mark.skipif(shutil.which("node") is None, reason="needs Node.js"),
]

# The copy that is installed (the built wheel's under tox), not the source tree's.
STABILITY_JS = (
    Path(django_stability.__file__).parent
    / "static"
    / "django_stability"
    / "stability.js"
)
WAIT = 15.0


class Page:
    """The Node process holding one StabilitySocket; ``expect`` waits for a matching line."""

    def __init__(self, url: str) -> None:
        self.process = subprocess.Popen(
            [
                "node",
                "--experimental-websocket",
                "--no-warnings",
                str(Path(__file__).with_name("client_driver.mjs")),
                STABILITY_JS.as_uri(),
                url,
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        self.lines: queue.Queue[dict[str, Any]] = queue.Queue()
        self.seen: list[dict[str, Any]] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.put(json.loads(line))

    def expect(self, **fields: Any) -> dict[str, Any]:
        """The next line with these fields (earlier lines are kept in ``seen``)."""
        for _ in range(1000):
            try:
                line = self.lines.get(timeout=WAIT)
            except queue.Empty:
                raise AssertionError(
                    f"no line with {fields}; seen {self.seen}"
                ) from None
            self.seen.append(line)
            if all(line.get(k) == v for k, v in fields.items()):
                return line
        raise AssertionError(f"no line with {fields}")

    def send(self, command: str) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(command + "\n")
        self.process.stdin.flush()

    def close(self) -> None:
        if self.process.poll() is None:
            self.send("stop")
            try:
                self.process.wait(timeout=WAIT)
            except subprocess.TimeoutExpired:  # pragma: no cover - only if node hangs
                self.process.kill()
                self.process.wait()
        for stream in (self.process.stdin, self.process.stdout):
            if stream is not None:
                stream.close()


@pytest.fixture
def marker() -> Iterator[str]:
    unique = uuid.uuid4().hex[:12]
    yield unique
    forget_realtime_keys(unique)


def test_the_page_reconnects_after_a_restart_and_shows_what_it_missed(
    tmp_path: Path, marker: str
) -> None:
    """Live, then Reconnecting… while the server restarts, then Live with the missed event."""
    channel, user = f"page.{marker}", f"u{marker}"
    with servers(2, tmp_path, realtime={}) as (a, b):
        page = Page(f"{a.ws}/{channel}/?user={user}")
        try:
            backoff = page.expect(kind="backoff")["delays"]
            assert backoff == [1000, 2000, 4000, 8000, 16000, 30000, 30000]
            page.expect(kind="status", label="Live")
            [first] = b.broadcast(channel, [{"n": 1}])
            assert page.expect(kind="event")["id"] == first
            a.kill(signal.SIGTERM)
            assert page.expect(kind="status", label="Reconnecting…")["code"] == 1012
            [missed] = b.broadcast(channel, [{"n": 2}])  # during the gap
            a.start()
            # The replay comes first, then the server's "subscribed" makes it Live.
            event = page.expect(kind="event")
            assert (event["id"], event["data"]) == (missed, {"n": 2})
            page.expect(kind="status", label="Live")
            assert [line for line in page.seen if line["kind"] == "reset"] == []
        finally:
            page.close()


def test_a_hidden_page_pauses_and_catches_up_when_shown(
    tmp_path: Path, marker: str
) -> None:
    """Hiding the tab closes the socket (Paused); showing it reconnects and delivers what was missed."""
    channel, user = f"page.{marker}", f"u{marker}"
    with servers(1, tmp_path, realtime={}) as (a,):
        page = Page(f"{a.ws}/{channel}/?user={user}")
        try:
            page.expect(kind="status", label="Live")
            page.send("hide")
            page.expect(kind="status", label="Paused")
            [missed] = a.broadcast(channel, [{"while": "hidden"}])
            page.send("show")
            assert page.expect(kind="event")["id"] == missed
            page.expect(kind="status", label="Live")
        finally:
            page.close()


def test_a_refused_page_stops_retrying(tmp_path: Path, marker: str) -> None:
    """A 4401 (not logged in) ends in "Live updates unavailable" instead of a reconnect loop."""
    with servers(1, tmp_path, realtime={}) as (a,):
        page = Page(f"{a.ws}/page.{marker}/")  # no ?user=: anonymous
        try:
            assert (
                page.expect(kind="status", label="Live updates unavailable")["code"]
                == 4401
            )
        finally:
            page.close()


def test_a_refused_page_stays_refused_when_its_tab_shows_again(
    tmp_path: Path, marker: str
) -> None:
    """Hiding and showing the tab after a final refusal starts no new round of attempts."""
    with servers(1, tmp_path, realtime={}) as (a,):
        page = Page(f"{a.ws}/page.{marker}/")  # anonymous: 4401
        try:
            page.expect(kind="status", label="Live updates unavailable")
            page.send("hide")
            page.send("show")
            with pytest.raises(queue.Empty):
                page.lines.get(timeout=3)
        finally:
            page.close()


def test_a_page_told_to_try_again_later_comes_back_with_redis(
    tmp_path: Path, marker: str, redis_server: RedisServer
) -> None:
    """Redis down: the page is closed with 1013 and keeps retrying; Redis back: Live, events flow, no reset."""
    channel, user = f"page.{marker}", f"u{marker}"
    with servers(1, tmp_path, realtime={}, redis_url=redis_server.url) as (a,):
        redis_server.kill()
        page = Page(f"{a.ws}/{channel}/?user={user}")
        try:
            assert page.expect(kind="status", label="Reconnecting…")["code"] == 1013
            redis_server.start()
            page.expect(kind="status", label="Live")
            [event] = a.broadcast(channel, [{"n": 1}])
            assert page.expect(kind="event")["id"] == event
            assert [line for line in page.seen if line["kind"] == "reset"] == []
        finally:
            page.close()


def test_a_page_retries_with_backoff_while_the_database_is_down(
    tmp_path: Path, marker: str
) -> None:
    """A 1013 (the database is down) is retried with backoff, never given up on like 4401."""
    with servers(1, tmp_path, realtime={}) as (a,):
        page = Page(f"{a.ws}/page.{marker}/?user=u{marker}&db=down")
        try:
            for _ in range(2):
                lost = page.expect(kind="status", label="Reconnecting…", code=1013)
                assert lost["delay"] >= 1000
            assert all(
                line.get("label") != "Live updates unavailable" for line in page.seen
            )
        finally:
            page.close()
