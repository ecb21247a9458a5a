"""Fixtures for the shared-state engine: both backends, both APIs, a fake clock, its log."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
import redis

from django_stability.runtime import runtime
from django_stability.state import Engine
from tests import services
from tests.clock import FakeClock


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def forget_keys(prefix: str) -> None:
    """Delete the suite database's keys under ``prefix``, and only those."""
    client = redis.Redis.from_url(services.REDIS_URL)
    try:
        keys = list(client.scan_iter(match=prefix + "*", count=1000))
        if keys:
            client.delete(*keys)
    finally:
        client.close()


@contextmanager
def redis_engine(**options: Any) -> Iterator[Engine]:
    """An engine on the suite's Redis database, in a key namespace of its own.

    A namespace per test (removed afterwards) isolates tests like FLUSHDB would,
    without wiping the database under another test run sharing it.
    """
    prefix = f"stability-test:{uuid.uuid4().hex}:"
    # The suite's Redis is healthy: its tests are about results, not timeouts,
    # and a loaded machine must not turn a slow reply into a degraded engine.
    options.setdefault("connect_timeout", 5.0)
    options.setdefault("timeout", 5.0)
    options.setdefault(
        "pool_timeout", 30.0
    )  # a burst of tasks queues for 4 connections
    engine = Engine(services.REDIS_URL, key_prefix=prefix, **options)
    try:
        yield engine
    finally:
        engine.close()
        forget_keys(prefix)


@contextmanager
def installed(engine: Engine) -> Iterator[Engine]:
    """``engine`` as the process's own (what ``get_engine()`` returns) until the block ends."""
    runtime.install("state.engine", engine)
    try:
        yield engine
    finally:
        runtime.install("state.engine", None)


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.redis)])
def engine(request: pytest.FixtureRequest, clock: FakeClock) -> Iterator[Engine]:
    """The same engine API over process memory, and over the suite's Redis database."""
    if request.param == "memory":
        yield Engine(clock=clock)
        return
    with redis_engine(clock=clock) as eng:
        yield eng


class Api:
    """Calls an engine method by its sync name, through the sync or the async variant."""

    def __init__(self, engine: Engine, asynchronous: bool) -> None:
        self.engine = engine
        self.asynchronous = asynchronous

    async def __call__(self, name: str, *args: Any, **kwargs: Any) -> Any:
        if self.asynchronous:
            return await getattr(self.engine, "a" + name)(*args, **kwargs)
        return getattr(self.engine, name)(*args, **kwargs)


@pytest.fixture(params=["sync", "async"])
def api(request: pytest.FixtureRequest, engine: Engine) -> Api:
    """Every operation test runs four times: memory/Redis x sync/async."""
    return Api(engine, request.param == "async")


class LogRecords(logging.Handler):
    """Records of the ``django_stability.state`` logger."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def levels(self) -> list[str]:
        return [record.levelname for record in self.records]

    def messages(self) -> list[str]:
        return [record.getMessage() for record in self.records]


@pytest.fixture
def state_log() -> Iterator[LogRecords]:
    """Collect the engine's log records directly, whatever the logging configuration."""
    handler = LogRecords()
    logger = logging.getLogger("django_stability.state")
    old_level = logger.level
    logger.setLevel(logging.DEBUG)
    logger.addHandler(handler)
    try:
        yield handler
    finally:
        logger.removeHandler(handler)
        logger.setLevel(old_level)
