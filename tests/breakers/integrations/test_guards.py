"""What each breaker guards, in words, for the operators' pages."""

from __future__ import annotations

import django
import pytest

from django_stability.breakers.integrations._guards import guarded_by

EMAIL = "django_stability.breakers.integrations.BreakerEmailBackend"


def test_the_guards_column_names_the_email_breakers_of_mailers(settings):
    """From Django 6.1's MAILERS (a breaker named in OPTIONS), or EMAIL_BACKEND before 6.1."""
    settings.MAILERS = {
        "default": {"BACKEND": EMAIL, "OPTIONS": {"breaker": "email:provider"}},
        "bulk": {"BACKEND": "django.core.mail.backends.locmem.EmailBackend"},
    }
    [guarded] = guarded_by("email:provider")
    assert (guarded.kind, guarded.critical) == ("email", False)
    assert "default" in guarded.description
    assert guarded_by("email") == []


@pytest.mark.skipif(
    django.VERSION >= (6, 1), reason="EMAIL_BACKEND is deprecated from 6.1"
)
def test_the_guards_column_reads_email_backend_before_django_61(settings):
    settings.EMAIL_BACKEND = EMAIL
    assert [g.kind for g in guarded_by("email")] == ["email"]
