"""System checks as a whole: IDs, registration with Django, manage.py check.

Each setting's checks are tested beside the code that reads it: ``test_core.py``,
``test_features.py``, ``test_project.py`` here, and ``test_checks.py`` in the
packages that check their own settings (ratelimit, breakers, realtime, drafts;
health in ``health/test_settings.py``).
"""

from __future__ import annotations

import re
from io import StringIO
from typing import Any

import pytest
from django.core.checks import registry
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from django.test import override_settings

from django_stability.checks import TAG
from django_stability.checks._base import CHECKS
from django_stability.checks._codes import Codes
from django_stability.conf import Settings
from tests import services
from tests.checks import check_error_codes, run_checks


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
