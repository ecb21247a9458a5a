"""``manage.py drain``: the shared flag through the engine, and clear refusals without Redis."""

from __future__ import annotations

import io
from collections.abc import Iterator

import pytest
from django.core.management import CommandError, call_command
from django.test import override_settings

from django_stability.health._drain import drain_state
from django_stability.state import get_engine
from tests.fixtures.redis_server import RedisServer, free_port


def run(*args: str) -> str:
    out = io.StringIO()
    call_command("drain", *args, stdout=out)
    return out.getvalue()


@pytest.fixture
def shared(redis_server: RedisServer) -> Iterator[None]:
    """The engine on a throwaway Redis (the drain key is global: no other run may see it)."""
    with override_settings(STABILITY_REDIS_URL=redis_server.url):
        yield
        get_engine().close()


@pytest.mark.usefixtures("shared")
def test_on_status_off() -> None:
    """on stores the flag with who and when, status shows it, off clears it."""
    assert run() == "drain: off (workers report ready)\n"
    out = run("on")
    assert out.startswith("drain: on since ")
    assert "pid" in out
    assert drain_state().on
    assert run("status").startswith("drain: on since ")
    assert run("off") == "drain: off (workers report ready)\n"
    assert not drain_state().on


def test_without_redis_url_it_refuses() -> None:
    """Without STABILITY_REDIS_URL the flag could reach no worker: exit 2, say why."""
    with pytest.raises(CommandError, match="STABILITY_REDIS_URL is not set") as info:
        run("on")
    assert info.value.returncode == 2


def test_unreachable_redis_changes_nothing() -> None:
    """When Redis does not answer the command exits 3 instead of pretending."""
    with override_settings(STABILITY_REDIS_URL=f"redis://127.0.0.1:{free_port()}/0"):
        with pytest.raises(CommandError, match="Redis does not answer") as info:
            run("on")
        get_engine().close()
    assert info.value.returncode == 3


def test_unknown_action_is_a_usage_error() -> None:
    """Only on, off and status are accepted."""
    with pytest.raises(CommandError, match="invalid choice: 'maybe'"):
        run("maybe")


@pytest.mark.usefixtures("shared")
def test_a_hand_written_flag_still_counts() -> None:
    """A flag value the command did not write still means drain on."""
    import time

    get_engine().set("health:drain", "yes", now=time.time())
    assert run("status") == "drain: on (workers report 503 draining)\n"
