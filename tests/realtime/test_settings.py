"""``STABILITY_REALTIME`` parsed once: defaults, rules, and what the running code reads from an invalid value."""

from __future__ import annotations

import logging

import pytest
from django.test import override_settings

from django_stability.checks._rates import Rate
from django_stability.realtime._settings import (
    KEYS,
    RealtimeConfig,
    parse,
    realtime_config,
)


def test_the_keys_are_the_fields_in_the_documented_order():
    """Each key of the setting is one field of RealtimeConfig, upper-cased, with a rule."""
    assert list(KEYS) == [
        "HEARTBEAT",
        "MAX_CONNECTIONS_PER_USER",
        "CONNECT_RATE",
        "REPLAY_MAX_EVENTS",
        "REPLAY_TTL",
        "SEND_TIMEOUT",
        "CHANNELS",
    ]
    assert all(callable(field.metadata["rule"]) for field in KEYS.values())


def test_a_partial_dict_keeps_the_defaults_of_the_keys_it_leaves_out():
    """Keys left out keep their defaults; numbers of seconds are read as floats."""
    with override_settings(STABILITY_REALTIME={"HEARTBEAT": 5}):
        config = realtime_config()
    assert config == RealtimeConfig(heartbeat=5.0)
    assert isinstance(config.heartbeat, float)
    assert config.replay_ttl == 600
    assert config.rate == Rate(100, 60)
    assert config.slot_ttl == 15


def test_the_config_is_parsed_once_until_settings_change():
    """The running code reads one memoised config; override_settings gives a new one."""
    with override_settings(STABILITY_REALTIME={"SEND_TIMEOUT": 3}):
        first = realtime_config()
        assert realtime_config() is first
        with override_settings(STABILITY_REALTIME={"SEND_TIMEOUT": 4}):
            assert realtime_config().send_timeout == 4
        assert realtime_config().send_timeout == 3


def test_an_invalid_value_keeps_its_keys_default_and_is_logged(caplog):
    """The checks report an invalid value; the code falls back to that key's default, with a warning."""
    value = {"HEARTBEAT": "30", "REPLAY_TTL": 60, "CONNECT_RATE": "5/minute"}
    with (
        caplog.at_level(logging.WARNING, logger="django_stability.realtime"),
        override_settings(STABILITY_REALTIME=value),
    ):
        config = realtime_config()
    assert config == RealtimeConfig(replay_ttl=60.0)
    assert [r.getMessage() for r in caplog.records] == [
        "STABILITY_REALTIME['HEARTBEAT'] must be a positive number, not str '30'; "
        "realtime uses the default (see manage.py check)",
        "STABILITY_REALTIME['CONNECT_RATE'] is an invalid rate '5/minute': "
        'expected "N/u" or "N/Mu" with u one of s, m, h, d (for example "100/s", '
        '"5/10m" or "1000/h"); realtime uses the default (see manage.py check)',
    ]


@pytest.mark.parametrize("value", [None, [("HEARTBEAT", 30)]])
def test_a_value_that_is_not_a_dict_means_every_default(value):
    """Not a dict at all: every key keeps its default."""
    config, [problem] = parse(value)
    assert config == RealtimeConfig()
    assert problem.key is None
    assert problem.problem.startswith("must be a dict, not ")


def test_unknown_keys_are_ignored_and_named():
    """An unknown key changes nothing; its problem suggests the known key."""
    config, [problem] = parse({"heartbeat": 5})
    assert config == RealtimeConfig()
    assert problem == (
        "heartbeat",
        "is not a realtime option (did you mean 'HEARTBEAT'?)",
        False,
    )


def test_an_invalid_channel_policy_declares_no_channel():
    """An invalid CHANNELS falls back to {}: every channel is refused, as none is declared."""
    config, [problem] = parse({"CHANNELS": {"notes": "everyone"}})
    assert config.channels == {}
    assert problem.option
