"""The soak's clients: draft writers and readers, realtime subscribers, a rate-limit burst.

Every loop is bounded by a deadline (``until``) and every request by a
timeout; nothing here asserts: the clients only record what they saw, and
``test_soak.py`` judges it afterwards.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus, WebSocketException

from tests.system.harness import CSRF, RATE_LIMIT

CHANNEL = "soak"
TIMEOUT = httpx.Timeout(15.0, read=40.0)  # the read bound outlasts a 30 s heartbeat
QUIET = 40.0  # seconds without a frame before a subscriber gives up on a connection


@dataclass
class Call:
    """One HTTP exchange (or WebSocket handshake) and its outcome; status 0 = no answer."""

    t: float
    kind: str
    worker: int
    status: int
    ms: float
    content_type: str = ""
    retry_after: str | None = None


@dataclass
class Record:
    """Everything the clients saw, shared by all of them."""

    calls: list[Call] = field(default_factory=list)
    acked: dict[str, list[tuple[int, int]]] = field(default_factory=dict)
    stale_reads: list[str] = field(default_factory=list)

    def add(self, kind: str, worker: int, started: float, answer: Any) -> None:
        status = 0 if answer is None else answer.status_code
        headers = {} if answer is None else answer.headers
        self.calls.append(
            Call(
                started,
                kind,
                worker,
                status,
                (time.monotonic() - started) * 1000,
                headers.get("content-type", ""),
                headers.get("retry-after"),
            )
        )


class Targets:
    """The workers' base URLs, taken in turn."""

    def __init__(self, ports: list[int]) -> None:
        self.ports = ports
        self._next = itertools.cycle(range(len(ports)))

    def pick(self) -> tuple[int, str]:
        index = next(self._next)
        return index, f"127.0.0.1:{self.ports[index]}"


def identity(session: str, ip: str) -> dict[str, str]:
    return {
        "Cookie": f"sessionid={session}; csrftoken={CSRF}",
        "X-CSRFToken": CSRF,
        "X-Forwarded-For": ip,
    }


async def _send(
    client: httpx.AsyncClient, record: Record, kind: str, worker: int, **request: Any
) -> httpx.Response | None:
    started = time.monotonic()
    try:
        answer = await client.request(**request)
    except httpx.HTTPError:
        answer = None
    record.add(kind, worker, started, answer)
    return answer


async def draft_user(
    number: int, session: str, targets: Targets, record: Record, until: float
) -> None:
    """Save a draft with its version, then read it back elsewhere, until ``until``.

    Each save answered 200 is recorded with its version; each read is checked
    against the versions acknowledged before it was sent (a lower one is a lost write).
    """
    key = f"soak-{number}"
    acked = record.acked.setdefault(key, [])
    version: int | None = None
    headers = identity(session, f"10.0.0.{number + 1}")
    async with httpx.AsyncClient(headers=headers, timeout=TIMEOUT) as client:
        for n in range(100_000):
            if time.monotonic() >= until:
                return
            worker, host = targets.pick()
            body = {"data": {"n": n}, "version": version}
            answer = await _send(
                client, record, "draft-save", worker, method="PUT",
                url=f"http://{host}/stability/drafts/{key}", json=body,
            )  # fmt: skip
            if answer is not None and answer.status_code == 200:
                version = int(answer.json()["version"])
                acked.append((version, n))
            elif answer is not None and answer.status_code == 409:
                version = int(answer.json()["draft"]["version"])
            floor = max((v for v, _ in acked), default=0)
            worker, host = targets.pick()
            answer = await _send(
                client, record, "draft-read", worker, method="GET",
                url=f"http://{host}/stability/drafts/{key}",
            )  # fmt: skip
            if answer is not None and answer.status_code == 200:
                seen = int(answer.json()["version"])
                if seen < floor:
                    record.stale_reads.append(
                        f"{key}: read v{seen} after v{floor} was acknowledged"
                    )
            await asyncio.sleep(0.2)


async def rate_burst(targets: Targets, record: Record, until: float) -> None:
    """Every 5 s, twice the limit at once from one client IP: some must get 429."""
    headers = {"X-Forwarded-For": "10.9.9.9"}
    async with httpx.AsyncClient(headers=headers, timeout=TIMEOUT) as client:
        for _ in range(10_000):
            if time.monotonic() >= until:
                return
            worker, host = targets.pick()
            await asyncio.gather(
                *(
                    _send(
                        client,
                        record,
                        "over-limit",
                        worker,
                        method="GET",
                        url=f"http://{host}/stability/version",
                    )  # fmt: skip
                    for _ in range(RATE_LIMIT * 2)
                )
            )
            await asyncio.sleep(5)


@dataclass
class Reset:
    t: float
    before: int | None
    after: int


class Subscriber:
    """A realtime client that reconnects after every drop, resuming from the last id it holds."""

    def __init__(self, name: str, session: str, ip: str, seed: int) -> None:
        self.name = name
        self.headers = identity(session, ip)
        self.random = random.Random(seed)
        self.received: list[tuple[int, int]] = []  # (event id, n)
        self.resets: list[Reset] = []
        self.first_id: int | None = None
        self.last_id: int | None = None
        self.connections = 0

    def event(self, event_id: int, data: dict[str, Any]) -> None:
        self.received.append((event_id, int(data["n"])))
        self.last_id = event_id

    def subscribed(self, last_event_id: int) -> None:
        if self.first_id is None:
            self.first_id = last_event_id
        self.last_id = last_event_id

    def reset(self, last_event_id: int) -> None:
        self.resets.append(Reset(time.monotonic(), self.last_id, last_event_id))
        self.last_id = last_event_id

    async def run(
        self, targets: Targets, record: Record, until: float, done: Callable[[], bool]
    ) -> None:
        """Connect, read a while, drop, reconnect; stop at ``until`` or once ``done()``."""
        for _ in range(100_000):
            if time.monotonic() >= until or done():
                return
            worker, host = targets.pick()
            cut_after = self.random.randint(20, 60)
            try:
                async with asyncio.timeout(max(0.1, until - time.monotonic())):
                    await self.session(worker, host, record, cut_after, done)
            except TimeoutError:
                pass
            await asyncio.sleep(self.random.uniform(0.2, 1.0))

    async def session(
        self, worker: int, host: str, record: Record, cut: int, done: Callable[[], bool]
    ) -> None:  # pragma: no cover - always overridden
        raise NotImplementedError


class WebSocketSubscriber(Subscriber):
    async def session(
        self, worker: int, host: str, record: Record, cut: int, done: Callable[[], bool]
    ) -> None:
        url = f"ws://{host}/ws/stability/events/{CHANNEL}/"
        if self.last_id is not None:
            url += f"?last_event_id={self.last_id}"
        started = time.monotonic()
        try:
            async with connect(
                url, origin=f"http://{host}", additional_headers=self.headers,  # type: ignore[arg-type]
                open_timeout=15, close_timeout=2, max_queue=None,
            ) as ws:  # fmt: skip
                record.calls.append(
                    Call(
                        started,
                        "ws-connect",
                        worker,
                        101,
                        (time.monotonic() - started) * 1000,
                    )
                )
                self.connections += 1
                got = 0
                while got < cut and not done():
                    message = json.loads(await asyncio.wait_for(ws.recv(), QUIET))
                    kind = message.get("type")
                    if kind == "heartbeat":
                        await ws.send('{"type": "heartbeat"}')
                    elif kind == "subscribed":
                        self.subscribed(int(message["last_event_id"]))
                    elif kind == "reset":
                        self.reset(int(message["last_event_id"]))
                    elif kind == "event":
                        self.event(int(message["id"]), message["data"])
                        got += 1
        except InvalidStatus as refused:
            status = refused.response.status_code
            record.calls.append(
                Call(
                    started,
                    "ws-connect",
                    worker,
                    status,
                    (time.monotonic() - started) * 1000,
                )
            )
        except (OSError, WebSocketException, TimeoutError, ValueError):
            pass


class EventSourceSubscriber(Subscriber):
    async def session(
        self, worker: int, host: str, record: Record, cut: int, done: Callable[[], bool]
    ) -> None:
        headers = dict(self.headers, Accept="text/event-stream")
        if self.last_id is not None:
            headers["Last-Event-ID"] = str(self.last_id)
        url = f"http://{host}/stability/events/{CHANNEL}/"
        started = time.monotonic()
        try:
            async with (
                httpx.AsyncClient(timeout=httpx.Timeout(15.0, read=QUIET)) as client,
                client.stream("GET", url, headers=headers) as answer,
            ):
                record.add("sse-connect", worker, started, answer)
                if answer.status_code != 200:
                    return
                self.connections += 1
                await self._read(answer, cut, done)
        except (httpx.HTTPError, ValueError):
            pass

    async def _read(
        self, answer: httpx.Response, cut: int, done: Callable[[], bool]
    ) -> None:
        got = 0
        fields: dict[str, str] = {}
        async for line in answer.aiter_lines():
            if line.startswith(":"):
                continue
            if line:
                name, _, value = line.partition(":")
                fields[name] = value.removeprefix(" ")
                continue
            kind = fields.get("event", "message")
            if kind == "subscribed":
                self.subscribed(int(json.loads(fields["data"])["last_event_id"]))
            elif kind == "reset":
                self.reset(int(json.loads(fields["data"])["last_event_id"]))
            elif "id" in fields and "data" in fields:
                self.event(int(fields["id"]), json.loads(fields["data"]))
                got += 1
            fields = {}
            if got >= cut or done():
                return
