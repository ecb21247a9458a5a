"""A malformed DATABASE_URL or Redis URL never puts its password (or any of the URL) in an error."""

from __future__ import annotations

import os
import subprocess
import sys
import traceback

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.test import override_settings

from django_stability.checks._core import check_redis_url
from django_stability.db import database_from_env
from django_stability.state import _redis
from tests import services
from tests.realtime.servers import ROOT

SECRET = "hunter\uff032secret"  # U+FF03 (fullwidth #) makes urllib refuse the netloc
PIECES = ("hunter", "secret", "\uff03", "＃", "alice", "db.internal")
DATABASE_URLS = [
    f"postgres://alice:{SECRET}@db.internal:5432/app",
    f"postgres://alice:{SECRET}@[db.internal/app",
    f"alice:{SECRET}@db.internal/app",
]
REDIS_URLS = [
    f"redis://alice:{SECRET}@db.internal:6379/0",
    f"redis://:{SECRET}@[db.internal:6379/0",
]


def _everything_said(exc: BaseException) -> str:
    """The message, its causes and the traceback, as a log or a crash would show them."""
    return "".join(traceback.format_exception(exc))


def _assert_secret_free(text: str) -> None:
    for piece in PIECES:
        assert piece not in text


@pytest.mark.parametrize("url", DATABASE_URLS)
def test_a_malformed_database_url_keeps_its_password(url: str) -> None:
    """database_from_env() names DATABASE_URL and the expected shape, nothing of the URL."""
    with pytest.raises(ImproperlyConfigured) as raised:
        database_from_env({"DATABASE_URL": url})
    assert "DATABASE_URL" in str(raised.value)
    _assert_secret_free(_everything_said(raised.value))


@pytest.mark.parametrize("url", REDIS_URLS)
def test_a_malformed_redis_url_keeps_its_password(url: str) -> None:
    """The engine's Redis backend and the system check name the setting, nothing of the URL."""
    with pytest.raises(ImproperlyConfigured) as raised:
        _redis.RedisBackend(
            url, connect_timeout=1, timeout=1, max_connections=2, pool_timeout=1
        )
    assert "STABILITY_REDIS_URL" in str(raised.value)
    _assert_secret_free(_everything_said(raised.value))
    with override_settings(STABILITY_REDIS_URL=url):
        (message,) = check_redis_url()
    assert "malformed" in message.msg
    _assert_secret_free(f"{message.msg} {message.hint}")


@pytest.mark.parametrize(
    "env",
    [
        {"DATABASE_URL": DATABASE_URLS[0]},
        {"REDIS_URL": REDIS_URLS[0]},
        {"REDIS_URL": REDIS_URLS[1]},
    ],
)
@pytest.mark.parametrize(
    "command",
    [
        ["example_project/manage.py", "check"],
        # What an ASGI server does: load the settings, no system checks.
        ["-c", "import django; django.setup()"],
    ],
)
def test_the_example_project_does_not_print_the_password_at_startup(
    env: dict[str, str], command: list[str]
) -> None:
    """Starting with a malformed URL fails without the password in the output."""
    result = subprocess.run(
        [sys.executable, *command],
        cwd=ROOT,
        env={
            **services.coverage_env(),
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "PYTHONPATH": str(ROOT),
            "DJANGO_SETTINGS_MODULE": "example_project.settings",
            **env,
        },
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode != 0
    _assert_secret_free(result.stdout + result.stderr)
    assert next(iter(env)).split("_")[0] in result.stdout + result.stderr
