"""The drafts settings, parsed here for the store and for the system checks (:mod:`._checks`)."""

from __future__ import annotations

from django_stability.checks._base import SettingRules, positive_int, positive_timedelta

#: Each setting (its ``conf`` attribute) and its rule, in the checks' order.
RULES = SettingRules(
    draft_ttl=positive_timedelta,
    draft_max_bytes=positive_int,
    drafts_per_user=positive_int,
)
