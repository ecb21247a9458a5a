"""manage.py breakers: list, the four actions, their errors, and one real second process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import override_settings

from django_stability.breakers import breaker
from django_stability.breakers._store import keys_for
from django_stability.models import Breaker
from django_stability.runtime import runtime
from django_stability.state import get_engine
from tests import services
from tests.breakers.names import OUTCOMES, configured, fresh
from tests.logcapture import capture_logs

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def name(settings: Any) -> Iterator[str]:
    """A configured breaker of this test's own, released afterwards."""
    yield from configured(settings, "cmd", {"failure_threshold": 2, "minimum_calls": 1})


def run(*args: str) -> str:
    out = StringIO()
    call_command("breakers", *args, stdout=out)
    return out.getvalue()


def test_list_is_the_default_and_prints_a_table(name):
    """Without arguments the command lists every breaker in a table with its live state."""
    breaker(name).call(lambda: None)
    with pytest.raises(OSError):
        breaker(name).call(_fail)
    lines = run().splitlines()
    assert lines[0].split() == [
        "name",
        "state",
        "forced",
        "failure",
        "rate",
        "calls",
        "failures",
        "retry",
        "at",
    ]
    (row,) = [line for line in lines if line.startswith(name + " ")]
    assert row.split() == [name, "closed", "-", "50%", "2", "1", "-"]
    assert run("list") == "\n".join(lines) + "\n"


def _fail() -> None:
    raise OSError


def test_list_shows_forced_and_retry_times(name):
    """An open breaker shows its retry time; a forced one its forced state."""
    for _ in range(2):
        with pytest.raises(OSError):
            breaker(name).call(_fail)
    (row,) = [line for line in run().splitlines() if line.startswith(name + " ")]
    cells = row.split()
    assert cells[1:3] == ["open", "-"]
    assert cells[-1].endswith("+00:00")  # the retry time, in UTC
    run("open", name)
    (row,) = [line for line in run().splitlines() if line.startswith(name + " ")]
    assert row.split()[1:3] == ["open", "open"]


def test_list_json_is_the_http_shape(name):
    """--json prints {"breakers": [<breaker JSON>...]} as GET stability/breakers/ answers."""
    body = json.loads(run("list", "--json"))
    (item,) = [item for item in body["breakers"] if item["name"] == name]
    assert item["state"] == "closed"
    assert item["config"]["failure_threshold"] == 2
    assert json.loads(run("list", name, "--json"))["breakers"] == [item]


def test_list_without_breakers_says_how_to_add_some(settings):
    """With no breaker configured or used, list says so instead of printing an empty table."""
    runtime.reset(everything=True)  # no breaker used yet
    settings.STABILITY_BREAKERS = {}
    assert "No circuit breakers" in run()


@pytest.mark.parametrize(("action", "state", "forced", "persisted"), OUTCOMES)
def test_actions_change_the_breaker_and_are_logged(
    action, state, forced, persisted, name
):
    """Each action goes through operate(via="command"): shared state, database row, log line."""
    with capture_logs() as logs:
        out = run(action, name)
    assert name in out and f"state now {state}" in out
    snapshot = breaker(name).snapshot()
    assert (snapshot.state, snapshot.forced) == (state, forced)
    assert Breaker.objects.get(name=name).forced == persisted
    assert logs.events(
        "breaker_operator_action", breaker=name, action=action, via="command"
    )


def test_action_json_prints_the_breaker(name):
    """An action with --json prints the breaker JSON after it."""
    body = json.loads(run("open", name, "--json"))
    assert (body["name"], body["state"], body["forced"]) == (name, "open", "open")


@pytest.mark.parametrize("action", ["open", "close", "reset", "release"])
def test_actions_without_a_name_fail_with_returncode_2(action):
    """An action needs NAME: a clear CommandError with returncode 2, nothing changed."""
    with pytest.raises(
        CommandError, match=f"'breakers {action}' needs the NAME"
    ) as info:
        run(action)
    assert info.value.returncode == 2
    assert not Breaker.objects.exists()


@pytest.mark.parametrize("action", ["list", "open", "reset"])
def test_unknown_names_fail_with_returncode_1_naming_known_ones(action, name):
    """An unknown NAME is a CommandError with returncode 1 that lists the known breakers."""
    with pytest.raises(CommandError, match="Unknown breaker 'nope'") as info:
        run(action, "nope")
    assert info.value.returncode == 1
    assert name in str(info.value)
    assert not Breaker.objects.filter(name="nope").exists()


def test_unknown_actions_are_refused():
    """An action that is not one of the five is an argument error."""
    with pytest.raises(CommandError, match="invalid choice: 'explode'"):
        run("explode", "x")


def _python() -> list[str]:
    """This interpreter; under ``coverage run`` (``make test``) measuring the child too.

    The child's data file lands beside ours, for ``coverage combine``.
    """
    try:
        import coverage
    except ImportError:  # pragma: no cover - tox's environments run without coverage
        return [sys.executable]
    if coverage.Coverage.current() is None:  # pragma: no cover - a plain pytest run
        return [sys.executable]
    rcfile = str(ROOT / "pyproject.toml")
    return [
        sys.executable,
        "-m",
        "coverage",
        "run",
        "--parallel-mode",
        "--rcfile",
        rcfile,
    ]


def _forget_keys(name: str) -> None:
    import redis

    client = redis.Redis.from_url(services.REDIS_URL)
    try:
        client.delete(
            f"stability:breaker:{{{name}}}", f"stability:breaker:{{{name}}}:trials"
        )
    finally:
        client.close()


@pytest.mark.redis
@pytest.mark.parametrize("how", ["command", "admin"])
def test_a_forced_state_is_seen_by_another_process(how, request):
    """A breaker forced open here (command or admin) is listed as forced open by manage.py in a second process."""
    name = fresh("cmd")
    breakers = {name: {"failure_threshold": 5}}
    try:
        with override_settings(
            STABILITY_REDIS_URL=services.REDIS_URL, STABILITY_BREAKERS=breakers
        ):
            try:
                if how == "command":
                    run("open", name)
                else:
                    admin_client = request.getfixturevalue("admin_client")
                    posted = {"breaker": name, "action": "open"}
                    response = admin_client.post(
                        "/admin/django_stability/breaker/", posted
                    )
                    assert response.status_code == 302
                assert get_engine().mode == "redis"
            finally:
                get_engine().close()
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "tests.management.subprocess_settings",
            "PYTHONPATH": str(ROOT),
            "STABILITY_REDIS_URL": services.REDIS_URL,
            "STABILITY_TEST_BREAKERS": json.dumps(breakers),
        }
        child = subprocess.run(
            [*_python(), "-m", "django", "breakers", "list", name, "--json"],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert child.returncode == 0, child.stderr
        (item,) = json.loads(child.stdout.strip().splitlines()[-1])["breakers"]
        assert (item["name"], item["state"], item["forced"]) == (name, "open", "open")
    finally:
        _forget_keys(name)


@pytest.mark.redis
def test_an_action_says_when_running_servers_cannot_see_it(name):
    """On process memory the command warns that a running server will not see the action; on Redis it does not."""
    err = StringIO()
    call_command("breakers", "open", name, stdout=StringIO(), stderr=err)
    assert "STABILITY_REDIS_URL is not set" in err.getvalue()
    with override_settings(STABILITY_REDIS_URL=services.REDIS_URL):
        try:
            err = StringIO()
            call_command("breakers", "release", name, stdout=StringIO(), stderr=err)
            assert err.getvalue() == ""
        finally:
            get_engine().delete(*keys_for(name))
            get_engine().close()
