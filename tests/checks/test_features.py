"""System checks of STABILITY_METRICS_TOKEN (drafts: tests/drafts/test_checks.py; health: tests/health/test_settings.py; realtime: tests/realtime/test_checks.py)."""

from __future__ import annotations

import pytest
from django.test import override_settings

from tests.checks import check_error_codes

# STABILITY_METRICS_TOKEN ------------------------------------------------------

SECRET = "s3cr3t value"


@pytest.mark.parametrize(
    "value", ["", 123456789012345678, SECRET, "s3cr3t\nvalue", "tøken-s3cr3t-s3cr3t"]
)
def test_metrics_token_must_be_a_bearer_token_and_is_never_shown(value):
    """Empty, non-string or unsendable tokens are E023, and the message never reveals the token."""
    with override_settings(STABILITY_METRICS_TOKEN=value):
        [message] = check_error_codes(["E023"])
    text = message.msg + str(message.hint)
    assert "s3cr3t" not in text
    assert "123456789" not in text


def test_short_metrics_token_warns_on_deploy_only():
    """A token under 16 characters passes in development and is W010 under check --deploy."""
    with override_settings(
        STABILITY_METRICS_TOKEN="abc123", STABILITY_REDIS_URL="redis://cache"
    ):
        check_error_codes([])
        [message] = check_error_codes(["W010"], deploy=True)
    assert message.msg == "STABILITY_METRICS_TOKEN is only 6 characters long."


def test_long_random_metrics_token_passes_deploy_checks():
    """A token such as secrets.token_urlsafe(32) passes every check."""
    token = "Zx9_-Q2mB7w4Yt1LkP0sR8vN3cE6hJ5a" + "=="
    with override_settings(
        STABILITY_METRICS_TOKEN=token, STABILITY_REDIS_URL="redis://cache"
    ):
        check_error_codes([], deploy=True)
