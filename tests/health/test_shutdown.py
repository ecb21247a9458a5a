"""SIGTERM: drain at once, wait the grace, send shutdown_started, then the server's own handler."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from types import FrameType
from typing import Any

import pytest

from django_stability.health import GracefulShutdown
from django_stability.health._drain import local_draining
from django_stability.signals import shutdown_started

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def restore_sigterm() -> Iterator[None]:
    """Whatever a test installs, the suite's SIGTERM handler comes back."""
    original = signal.getsignal(signal.SIGTERM)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, original)


@pytest.fixture
def announced() -> Iterator[list[dict[str, Any]]]:
    """The shutdown_started signals sent during the test."""
    received: list[dict[str, Any]] = []

    def receiver(sender: Any, **kwargs: Any) -> None:
        received.append({"sender": sender, **kwargs})

    shutdown_started.connect(receiver)
    try:
        yield received
    finally:
        shutdown_started.disconnect(receiver)


class Previous:
    """The server's own SIGTERM handler, as gunicorn or uvicorn would have installed it."""

    def __init__(self) -> None:
        self.calls: list[int] = []

    def __call__(self, signum: int, frame: FrameType | None) -> None:
        self.calls.append(signum)


def _let_pending_handlers_run() -> None:
    # Python runs a pending signal handler between two bytecodes of the main thread.
    for _ in range(3):
        pass


@pytest.mark.usefixtures("restore_sigterm")
def test_sigterm_drains_waits_announces_then_chains(
    announced: list[dict[str, Any]],
) -> None:
    """The first SIGTERM drains at once; after the grace the signal is sent and the previous handler runs."""
    previous = Previous()
    signal.signal(signal.SIGTERM, previous)
    waited: list[float] = []
    calls = previous.calls
    handler = GracefulShutdown(drain_seconds=3, sleep=waited.append).install()
    assert handler.previous is previous

    signal.raise_signal(signal.SIGTERM)
    assert local_draining()
    assert handler.thread is not None
    handler.thread.join(5)
    _let_pending_handlers_run()

    assert waited == [3]
    assert announced == [
        {"sender": GracefulShutdown, "signal": shutdown_started, "drain_seconds": 3}
    ]
    assert calls == [signal.SIGTERM]


@pytest.mark.usefixtures("restore_sigterm")
def test_second_sigterm_cuts_the_grace_short(announced: list[dict[str, Any]]) -> None:
    """Another SIGTERM during the wait announces and chains at once, and only once."""
    previous = Previous()
    signal.signal(signal.SIGTERM, previous)
    release = threading.Event()
    handler = GracefulShutdown(
        drain_seconds=30, sleep=lambda s: release.wait(5)
    ).install()

    signal.raise_signal(signal.SIGTERM)
    signal.raise_signal(signal.SIGTERM)
    assert previous.calls == [signal.SIGTERM]
    assert len(announced) == 1
    release.set()
    assert handler.thread is not None
    handler.thread.join(5)
    _let_pending_handlers_run()
    assert previous.calls == [signal.SIGTERM]
    assert len(announced) == 1

    signal.raise_signal(signal.SIGTERM)  # later ones go straight to the server
    assert previous.calls == [signal.SIGTERM, signal.SIGTERM]


@pytest.mark.usefixtures("restore_sigterm")
def test_ignored_sigterm_stays_ignored() -> None:
    """When the process ignored SIGTERM before, it drains but keeps running."""
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    handler = GracefulShutdown(drain_seconds=0, sleep=lambda s: None).install()
    signal.raise_signal(signal.SIGTERM)
    assert handler.thread is not None
    handler.thread.join(5)
    _let_pending_handlers_run()
    assert local_draining()
    assert signal.getsignal(signal.SIGTERM) is handler


_CHILD = """
import os, signal, sys, time
import django
django.setup()
from django_stability.health import install_sigterm_handler
from django_stability.health._drain import local_draining
from django_stability.signals import shutdown_started
shutdown_started.connect(lambda sender, **kw: print("shutdown_started", kw["drain_seconds"], local_draining(), flush=True), weak=False)
install_sigterm_handler(drain_seconds=0)
print("ready", flush=True)
sys.stdin.readline()
os.kill(os.getpid(), signal.SIGTERM)
for _ in range(200):  # the default action ends the process during these
    time.sleep(0.05)
print("still alive", flush=True)
"""


def test_default_action_still_ends_the_process() -> None:
    """In a real process with no SIGTERM handler before ours, the process dies of SIGTERM after the announcement."""
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "PYTHONPATH": str(ROOT),
    }
    child = subprocess.Popen(
        [sys.executable, "-c", _CHILD],
        cwd=ROOT,
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout is not None and child.stdin is not None
        assert child.stdout.readline().strip() == "ready"
        child.stdin.write("go\n")
        child.stdin.flush()
        out, _ = child.communicate(timeout=20)
    finally:
        if child.poll() is None:  # pragma: no cover - only when the test fails
            child.kill()
            child.wait()
    assert child.returncode == -signal.SIGTERM
    assert out.strip() == "shutdown_started 0 True"


@pytest.mark.usefixtures("restore_sigterm")
def test_install_sigterm_handler_installs_and_reads_the_setting(
    announced: list[dict[str, Any]],
) -> None:
    """The helper becomes the SIGTERM handler; without drain_seconds it waits STABILITY_DRAIN_SECONDS."""
    from django.test import override_settings

    from django_stability.health import install_sigterm_handler

    previous = Previous()
    signal.signal(signal.SIGTERM, previous)
    waited: list[float] = []
    with override_settings(STABILITY_DRAIN_SECONDS=4):
        handler = install_sigterm_handler(sleep=waited.append)
        signal.raise_signal(signal.SIGTERM)
        assert handler.thread is not None
        handler.thread.join(5)
        _let_pending_handlers_run()
        assert signal.getsignal(signal.SIGTERM) is handler
    assert waited == [4]
    assert announced[0]["drain_seconds"] == 4
    assert previous.calls == [signal.SIGTERM]


@pytest.mark.usefixtures("restore_sigterm")
async def test_asgi_wrapper_installs_on_the_first_call_in_the_main_thread() -> None:
    """The ASGI wrapper installs the handler once, on its first call, chaining to the handler then in place."""
    from django_stability.health import with_graceful_shutdown

    server_handler = Previous()
    signal.signal(signal.SIGTERM, server_handler)  # what the server installed meanwhile
    calls: list[str] = []

    async def inner(scope: Any, receive: Any, send: Any) -> None:
        calls.append(scope["type"])

    app = with_graceful_shutdown(inner, drain_seconds=0)
    await app({"type": "lifespan"}, None, None)
    installed = signal.getsignal(signal.SIGTERM)
    assert isinstance(installed, GracefulShutdown)
    assert installed.previous is server_handler
    await app({"type": "http"}, None, None)
    assert signal.getsignal(signal.SIGTERM) is installed
    assert calls == ["lifespan", "http"]


@pytest.mark.usefixtures("restore_sigterm")
def test_asgi_wrapper_off_the_main_thread_installs_nothing() -> None:
    """Run on another thread (where Python refuses signal handlers), the wrapper just serves."""
    import asyncio

    from django_stability.health import with_graceful_shutdown

    before = signal.getsignal(signal.SIGTERM)
    served: list[str] = []

    async def inner(scope: Any, receive: Any, send: Any) -> None:
        served.append(scope["type"])

    app = with_graceful_shutdown(inner)

    async def serve_one() -> None:
        await app({"type": "http"}, None, None)

    worker = threading.Thread(target=lambda: asyncio.run(serve_one()))
    worker.start()
    worker.join(5)
    assert served == ["http"]
    assert signal.getsignal(signal.SIGTERM) is before
