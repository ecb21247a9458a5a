"""System checks: the helper, the Django binding, and the request-path settings.

The other settings are in ``test_checks_cache.py``, ``test_checks_features.py``
and ``test_checks_runtime.py`` (the rate-limit, breaker, drafts and health ones
in ``ratelimit/``, ``breakers/``, ``drafts/test_checks.py`` and
``health/test_settings.py``), project-level
checks in ``test_checks_project.py``; all use :func:`check_error_codes` from
here.
"""

from __future__ import annotations

import re
from io import StringIO
from typing import Any

import pytest
from django.core.checks import CheckMessage, registry
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from django.test import override_settings

from django_stability.checks import CHECKS, TAG, Codes
from django_stability.conf import Settings
from tests import services


def run_checks(*, deploy: bool = False) -> list[CheckMessage]:
    """Every message of our checks (deploy ones too when asked), in definition order."""
    return [
        message
        for registered in CHECKS
        if deploy or not registered.deploy
        for message in registered.func(app_configs=None, databases=None)
    ]


def check_error_codes(
    expected: list[str], *, deploy: bool = False
) -> list[CheckMessage]:
    """Run our checks and assert the exact ordered IDs (without the django_stability. prefix)."""
    messages = run_checks(deploy=deploy)
    assert [message.id for message in messages] == [
        f"django_stability.{code}" for code in expected
    ]
    return messages


def test_default_settings_give_no_messages():
    """A project that sets no STABILITY_* setting starts without warnings or errors."""
    check_error_codes([])


@override_settings(STABILITY_REDIS_URL=services.REDIS_URL)
def test_default_settings_with_redis_pass_the_deploy_checks():
    """With Redis configured, the defaults also pass manage.py check --deploy."""
    check_error_codes([], deploy=True)


def test_check_ids_are_unique_and_well_formed():
    """No two checks share an ID, and every ID is django_stability.E0xx or W0xx."""
    ids = [code.id for code in Codes]
    assert len(ids) == len(set(ids))
    assert all(re.fullmatch(r"django_stability\.[EW]0\d\d", i) for i in ids)


def test_every_check_is_registered_with_django():
    """AppConfig.ready() registered every check under the django_stability tag, deploy ones apart."""
    deployment: set[Any] = registry.registry.deployment_checks
    regular: set[Any] = registry.registry.registered_checks
    for registered in CHECKS:
        assert (registered.func in deployment, registered.func in regular) == (
            registered.deploy,
            not registered.deploy,
        )
        assert getattr(registered.func, "tags", None) == registered.tags
        assert registered.tags[0] == TAG


@pytest.mark.parametrize("name", Settings.setting_names())
def test_every_setting_is_validated(name):
    """Whatever setting holds an arbitrary object, a check error names that setting."""
    with override_settings(**{name: object()}):
        messages = run_checks()
    assert [m for m in messages if m.is_serious() and m.obj == name and name in m.msg]


@override_settings(STABILITY_RATELIMIT="lots")
def test_manage_py_check_refuses_an_invalid_setting():
    """manage.py check stops with the ID, the setting and the hint of an invalid value."""
    with pytest.raises(SystemCheckError) as caught:
        call_command("check", "--tag", TAG)
    text = str(caught.value)
    assert (
        "(django_stability.E008) STABILITY_RATELIMIT is an invalid rate 'lots'" in text
    )
    assert 'HINT: Use None (no global limit) or a rate "N/u"' in text


@override_settings(DEBUG=False)
def test_manage_py_check_deploy_prints_deploy_warnings():
    """manage.py check --deploy shows deploy-only warnings without failing."""
    stderr = StringIO()
    call_command("check", "--tag", TAG, "--deploy", stderr=stderr)
    assert (
        "(django_stability.W001) STABILITY_REDIS_URL is not set while DEBUG is off"
        in stderr.getvalue()
    )
    stderr = StringIO()
    call_command("check", "--tag", TAG, stderr=stderr)
    assert "W001" not in stderr.getvalue()


# STABILITY_REDIS_URL ----------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "redis://127.0.0.1:6379/0",
        "redis://",
        "REDIS://cache",
        "rediss://user:secret@cache.internal:6380/3",
        "redis://cache/?db=2",
        "unix:///run/redis/redis.sock",
        "unix:///run/redis/redis.sock?db=1",
        None,
    ],
)
def test_redis_url_accepts_redis_rediss_unix_and_none(url):
    """Every URL form redis-py's from_url() understands is accepted."""
    with override_settings(STABILITY_REDIS_URL=url):
        check_error_codes([])


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        (6379, "must be None or a Redis URL string, not int"),
        ("", "must start with redis://, rediss:// or unix:// (found 'no scheme')"),
        ("127.0.0.1:6379", "(found 'no scheme')"),
        ("http://:hunter2@cache:6379/0", "(found 'http://')"),
        ("redis://:hunter2@cache:port/0", "has an invalid port"),
        (
            "redis://:hunter2@cache:6379/zero",
            "database number that is not a whole number",
        ),
        ("redis://cache/?db=one", "database number that is not a whole number"),
        ("unix://", "has no socket path"),
    ],
)
def test_redis_url_rejects_what_redis_py_cannot_use(url, problem):
    """A URL redis-py cannot connect with is E001, and its password never appears in the message."""
    with override_settings(STABILITY_REDIS_URL=url):
        [message] = check_error_codes(["E001"])
    assert message.msg.startswith("STABILITY_REDIS_URL ")
    assert problem in message.msg
    assert "hunter2" not in message.msg + str(message.hint)


# STABILITY_APP_VERSION --------------------------------------------------------


@pytest.mark.parametrize(
    ("version", "problem"),
    [
        (1.0, "must be a string, not float 1.0"),
        ("", "is empty"),
        (
            "1.0\r\nSet-Cookie: x=y",
            r"contains the control character '\r' at position 3",
        ),
        ("1.0\x1b[31m", r"contains the control character '\x1b' at position 3"),
        ("1.0\x7f", r"contains the control character '\x7f' at position 3"),
        ("v1-été", "contains the non-ASCII character 'é' at position 3"),
        (
            " 1.0",
            "has leading or trailing spaces, which HTTP strips from header values",
        ),
    ],
)
def test_app_version_must_be_header_safe(version, problem):
    """A version that cannot travel unchanged as X-App-Version is E002, naming the character and position."""
    with override_settings(STABILITY_APP_VERSION=version):
        [message] = check_error_codes(["E002"])
    assert message.msg == f"STABILITY_APP_VERSION {problem}."


def test_bad_app_version_from_the_environment_names_the_variable(monkeypatch):
    """When the default comes from APP_VERSION, the error points at that environment variable."""
    monkeypatch.setenv("APP_VERSION", "2.0\n")
    [message] = check_error_codes(["E002"])
    assert message.msg.startswith(
        "The APP_VERSION environment variable (default of STABILITY_APP_VERSION) contains"
    )


# STABILITY_CORRELATION_HEADERS ------------------------------------------------


@pytest.mark.parametrize("value", ["X-Request-ID", [], (), None, {"X-Request-ID": 1}])
def test_correlation_headers_must_be_a_non_empty_list(value):
    """A bare string, an empty list or another type is E003."""
    with override_settings(STABILITY_CORRELATION_HEADERS=value):
        check_error_codes(["E003"])


def test_correlation_headers_reject_invalid_names_by_index():
    """Each invalid header name is its own E004, naming its index and value."""
    value = ["X-Request-ID", "X Request", "", 42, "X-Trace\n", "Trace:Id"]
    with override_settings(STABILITY_CORRELATION_HEADERS=value):
        messages = check_error_codes(["E004"] * 5)
    assert (
        messages[0].msg
        == "STABILITY_CORRELATION_HEADERS[1] is not a valid HTTP header name: str 'X Request'."
    )
    assert [m.msg.split("]")[0][-1] for m in messages] == ["1", "2", "3", "4", "5"]


def test_correlation_headers_warn_on_case_insensitive_duplicates():
    """Listing the same header twice, in any case, is W005."""
    with override_settings(
        STABILITY_CORRELATION_HEADERS=[
            "X-Request-ID",
            "X-Correlation-ID",
            "x-request-id",
        ]
    ):
        [message] = check_error_codes(["W005"])
    assert message.msg.startswith(
        "STABILITY_CORRELATION_HEADERS[2] repeats 'x-request-id'"
    )


def test_correlation_headers_warn_on_underscores():
    """A header name with an underscore, which servers drop, is W006."""
    with override_settings(STABILITY_CORRELATION_HEADERS=["X_Request_ID"]):
        check_error_codes(["W006"])
