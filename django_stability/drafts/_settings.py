"""The drafts settings, parsed here for the store and for the system checks (:mod:`._checks`)."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ImproperlyConfigured

from django_stability.checks._base import Validator, positive_int, positive_timedelta
from django_stability.conf import PREFIX, conf

#: Each setting (its ``conf`` attribute) and its rule, in the checks' order.
RULES: dict[str, Validator] = {
    "draft_ttl": positive_timedelta,
    "draft_max_bytes": positive_int,
    "drafts_per_user": positive_int,
}


def problem(attribute: str) -> str | None:
    """What is wrong with the setting, phrased to follow its name; ``None`` if valid."""
    return RULES[attribute](getattr(conf, attribute))


def parsed(attribute: str) -> Any:
    """The setting's value, or ``ImproperlyConfigured`` naming it and what is wrong."""
    if (found := problem(attribute)) is not None:
        raise ImproperlyConfigured(f"{PREFIX}{attribute.upper()} {found}.")
    return getattr(conf, attribute)
