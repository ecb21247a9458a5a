"""The app config: ``ready()`` hands Django the checks of every capability, so ``manage.py check`` reports each."""

from __future__ import annotations

import pytest
from django.core import checks
from django.test import override_settings

from django_stability.checks import TAG


@pytest.mark.parametrize(
    ("setting", "value", "code"),
    [
        ("STABILITY_REDIS_URL", "mysql://nope", "E001"),
        ("STABILITY_RATELIMIT", "lots", "E008"),
        ("STABILITY_BREAKERS", "database", "E012"),
        ("STABILITY_DRAFTS_PER_USER", 0, "E017"),
        ("STABILITY_REALTIME", "on", "E018"),
        ("STABILITY_HEALTH_TIMEOUT", -1, "E020"),
    ],
    ids=["core", "ratelimit", "breakers", "drafts", "realtime", "health"],
)
def test_django_runs_each_capabilitys_checks(setting, value, code):
    """Through Django's own registry, as ``manage.py check --tag django_stability`` runs them."""
    with override_settings(**{setting: value}):
        found = {message.id for message in checks.run_checks(tags=[TAG])}
    assert f"django_stability.{code}" in found


def test_a_valid_project_passes_them_all():
    assert [m.id for m in checks.run_checks(tags=[TAG]) if m.is_serious()] == []
