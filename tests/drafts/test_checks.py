"""The drafts' settings: their system checks (E015-E017, W030) and the parser the store reads them through."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.test import override_settings

from django_stability.drafts._settings import RULES
from tests.checks import check_error_codes


@pytest.mark.parametrize("value", [3600, timedelta(0), timedelta(days=-1), None])
def test_draft_ttl_must_be_a_positive_timedelta(value):
    """Seconds as a number, zero or negative durations are E015."""
    with override_settings(STABILITY_DRAFT_TTL=value):
        check_error_codes(["E015"])


@pytest.mark.parametrize(
    ("setting", "code"),
    [("STABILITY_DRAFT_MAX_BYTES", "E016"), ("STABILITY_DRAFTS_PER_USER", "E017")],
)
@pytest.mark.parametrize("value", [0, -5, True, 1.5, "200", None])
def test_draft_limits_must_be_positive_ints(setting, code, value):
    """Zero, negatives, bools, floats and strings are rejected, naming the setting."""
    with override_settings(**{setting: value}):
        [message] = check_error_codes([code])
    assert message.msg.startswith(f"{setting} must be a positive whole number, not ")


@pytest.mark.parametrize(
    ("setting", "code"),
    [("STABILITY_DRAFT_MAX_BYTES", "E016"), ("STABILITY_DRAFTS_PER_USER", "E017")],
)
def test_draft_limits_accept_one(setting, code):
    """The smallest positive limit is valid."""
    with override_settings(**{setting: 1}):
        check_error_codes([])


def test_the_store_reads_the_settings_the_checks_accept():
    """The parser gives the values the checks pass, and refuses what they report, naming the setting."""
    assert [RULES.value(name) for name in RULES.rules] == [
        timedelta(days=7),
        262144,
        200,
    ]
    with (
        override_settings(STABILITY_DRAFT_MAX_BYTES="200"),
        pytest.raises(ImproperlyConfigured) as caught,
    ):
        RULES.value("draft_max_bytes")
    assert str(caught.value) == (
        "STABILITY_DRAFT_MAX_BYTES must be a positive whole number, not str '200'."
    )


def test_limit_above_the_upload_limit_warns():
    """STABILITY_DRAFT_MAX_BYTES over DATA_UPLOAD_MAX_MEMORY_SIZE is W030, naming both sizes."""
    with override_settings(STABILITY_DRAFT_MAX_BYTES=5_000_000):
        [message] = check_error_codes(["W030"])
    assert "STABILITY_DRAFT_MAX_BYTES is 5000000 bytes" in message.msg
    assert "DATA_UPLOAD_MAX_MEMORY_SIZE (2621440 bytes)" in message.msg


def test_limit_within_the_upload_limit_or_no_upload_limit_is_fine():
    """No warning at or under the upload limit, nor when the project lifts it (None)."""
    with override_settings(STABILITY_DRAFT_MAX_BYTES=2_621_440):
        check_error_codes([])
    with override_settings(
        STABILITY_DRAFT_MAX_BYTES=5_000_000, DATA_UPLOAD_MAX_MEMORY_SIZE=None
    ):
        check_error_codes([])


def test_an_invalid_limit_is_only_e016():
    """An invalid limit gets its E016 and no W030 on top."""
    with override_settings(STABILITY_DRAFT_MAX_BYTES=-1):
        check_error_codes(["E016"])
