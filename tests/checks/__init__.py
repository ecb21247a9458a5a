"""Helpers for the system-check tests, which every package's ``test_checks.py`` uses too."""

from __future__ import annotations

from django.core.checks import CheckMessage

from django_stability.checks._base import CHECKS


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
