"""``STABILITY_BULKHEADS``: its system checks (E050, E051) and the parser the bulkheads read it through."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.test import override_settings

from django_stability.bulkhead import BulkheadConfig, bulkhead
from tests.checks import check_error_codes


def test_every_option_passes_with_a_valid_value():
    """A bulkhead using every documented option is accepted and parsed as given."""
    options: dict[str, Any] = {
        "max_concurrent": 4,
        "max_wait": 0.5,
        "shared": True,
        "lease": 30,
    }
    assert set(options) == set(BulkheadConfig.rules())
    with override_settings(STABILITY_BULKHEADS={"search": options}):
        check_error_codes([])
        assert bulkhead("search").config == BulkheadConfig(**options)


@pytest.mark.parametrize("value", [None, [], "search", {"search": 10}])
def test_the_setting_must_be_a_dict_of_option_dicts(value):
    """Not a dict, or an entry that is not a dict of options, is E050."""
    with override_settings(STABILITY_BULKHEADS=value):
        check_error_codes(["E050"])


@pytest.mark.parametrize("name", ["", "has space", 7, "x" * 201])
def test_names_must_be_plain(name):
    """A name outside 1-200 characters of [A-Za-z0-9._:-] is E050."""
    with override_settings(STABILITY_BULKHEADS={name: {}}):
        [message] = check_error_codes(["E050"])
    assert "invalid bulkhead name" in message.msg


@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("max_concurrent", 0),
        ("max_concurrent", 2.5),
        ("max_concurrent", True),
        ("max_wait", -1),
        ("max_wait", float("inf")),
        ("max_wait", "1"),
        ("shared", "yes"),
        ("lease", 0),
    ],
)
def test_each_option_follows_its_rule(option, value):
    """A bad option value is E051, naming the bulkhead and the option."""
    with override_settings(STABILITY_BULKHEADS={"search": {option: value}}):
        [message] = check_error_codes(["E051"])
    assert f"STABILITY_BULKHEADS['search']['{option}']" in message.msg


def test_an_unknown_option_is_named_with_a_suggestion():
    """A misspelt option is E051 with the closest known one."""
    with override_settings(STABILITY_BULKHEADS={"search": {"max_concurent": 3}}):
        [message] = check_error_codes(["E051"])
    assert "did you mean 'max_concurrent'?" in message.msg


def test_a_bulkhead_refuses_to_run_on_a_bad_setting():
    """At run time a malformed setting is ImproperlyConfigured, with what the check says."""
    with (
        override_settings(STABILITY_BULKHEADS={"search": {"max_concurrent": 0}}),
        pytest.raises(ImproperlyConfigured, match="max_concurrent"),
        bulkhead("search"),
    ):
        pass  # pragma: no cover - never entered


def test_a_config_built_in_code_is_checked_too():
    """BulkheadConfig refuses a bad option given directly."""
    with pytest.raises(ImproperlyConfigured, match="max_wait"):
        BulkheadConfig(max_wait=-1)


def test_the_parsed_setting_follows_settings_changes():
    """The cached parse is dropped when the setting changes."""
    with override_settings(STABILITY_BULKHEADS={"search": {"max_concurrent": 3}}):
        assert bulkhead("search").config.max_concurrent == 3
    with override_settings(STABILITY_BULKHEADS={"search": {"max_concurrent": 5}}):
        assert bulkhead("search").config.max_concurrent == 5
