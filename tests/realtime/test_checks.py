"""System checks of ``STABILITY_REALTIME`` (E018, E019, W041)."""

from __future__ import annotations

import pytest
from django.conf import settings as django_settings
from django.core.checks import run_checks
from django.test import override_settings

from tests.checks import check_error_codes

# STABILITY_REALTIME -----------------------------------------------------------


def test_realtime_accepts_a_partial_dict():
    """Keys left out keep their defaults, so a dict with one key is valid."""
    with override_settings(
        STABILITY_REALTIME={"HEARTBEAT": 15.5, "CONNECT_RATE": "10/s"}
    ):
        check_error_codes([])


@pytest.mark.parametrize("value", [None, [("HEARTBEAT", 30)], "HEARTBEAT=30"])
def test_realtime_must_be_a_dict(value):
    """A list of pairs, a string or None is E018."""
    with override_settings(STABILITY_REALTIME=value):
        [message] = check_error_codes(["E018"])
    assert message.msg.startswith("STABILITY_REALTIME must be a dict, not ")
    assert "HEARTBEAT, MAX_CONNECTIONS_PER_USER, CONNECT_RATE" in str(message.hint)


def test_realtime_unknown_key_suggests_the_known_one():
    """A lower-case or misspelt key is E018 naming it and suggesting the real key."""
    with override_settings(
        STABILITY_REALTIME={"heartbeat": 30, "REPLAY_TTL": 60, "BACKOFF": 1}
    ):
        messages = check_error_codes(["E018", "E018"])
    assert (
        messages[0].msg
        == "STABILITY_REALTIME['heartbeat'] is not a realtime option (did you mean 'HEARTBEAT'?)."
    )
    assert messages[1].msg == "STABILITY_REALTIME['BACKOFF'] is not a realtime option."


@pytest.mark.parametrize(
    ("key", "value", "problem"),
    [
        ("HEARTBEAT", 0, "must be a positive number, not int 0"),
        ("HEARTBEAT", "30", "must be a positive number, not str '30'"),
        (
            "MAX_CONNECTIONS_PER_USER",
            2.5,
            "must be a positive whole number, not float 2.5",
        ),
        ("CONNECT_RATE", "100/minute", "is an invalid rate '100/minute'"),
        (
            "CONNECT_RATE",
            None,
            "must be a rate string such as '100/s', not NoneType None",
        ),
        ("REPLAY_MAX_EVENTS", 0, "must be a positive whole number, not int 0"),
        ("REPLAY_TTL", -1, "must be a positive number, not int -1"),
        (
            "CHANNELS",
            ["notes"],
            "must be a dict of channel pattern -> rule, not list ['notes']",
        ),
        ("CHANNELS", {"no spaces": "staff"}, "has an invalid channel pattern"),
        ("CHANNELS", {"u-{user.email}": "staff"}, "has an invalid channel pattern"),
        ("CHANNELS", {"notes": "everyone"}, "['notes'] must be the dotted path"),
        ("CHANNELS", {"notes": "perm:view_note"}, "['notes'] 'perm:view_note' must"),
        ("CHANNELS", {"notes": 3}, "['notes'] must be 'authenticated', 'staff'"),
    ],
)
def test_realtime_invalid_value_names_the_key(key, value, problem):
    """A value of the wrong type or range is E019 naming the key."""
    with override_settings(STABILITY_REALTIME={key: value}):
        [message] = check_error_codes(["E019"])
    assert message.msg.startswith(f"STABILITY_REALTIME['{key}'] {problem}")


def test_realtime_channels_accept_every_rule_form():
    """Patterns with * and the user placeholders, and the four kinds of rule, pass the checks."""
    channels = {
        "notes": "authenticated",
        "user-{user.pk}": "authenticated",
        "by-{user.username}-*": "staff",
        "reports": "perm:auth.view_user",
        "rooms-*": "django_stability.realtime._policy.allowed",
        "halls-*": lambda user, channel: True,
    }
    with override_settings(STABILITY_REALTIME={"CHANNELS": channels}):
        check_error_codes([])


def test_an_empty_channel_policy_is_explained_where_channels_is_installed():
    """W041 says every subscription will be refused; not without Channels, not once declared."""
    apps = [*django_settings.INSTALLED_APPS, "channels"]
    with override_settings(INSTALLED_APPS=apps, STABILITY_REALTIME={}):
        [message] = [m for m in run_checks() if m.id == "django_stability.W041"]
    assert "every realtime subscription is refused" in message.msg
    with override_settings(
        INSTALLED_APPS=apps, STABILITY_REALTIME={"CHANNELS": {"notes": "staff"}}
    ):
        assert "django_stability.W041" not in [m.id for m in run_checks()]
    assert "django_stability.W041" not in [m.id for m in run_checks()]
