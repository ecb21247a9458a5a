"""Checks of ``STABILITY_METRICS_TOKEN``, which the metrics view and the full health report share.

The drafts, health, breakers, realtime and rate-limit settings are checked in
their packages (``drafts/_checks.py``, ``health/_checks.py`` and so on).
"""

from __future__ import annotations

import re
from typing import Any

from django.core.checks import CheckMessage, Tags

from django_stability.checks._base import check
from django_stability.checks._codes import Codes
from django_stability.conf import Settings, conf

# RFC 6750 b64token: what an "Authorization: Bearer <token>" header can carry.
_BEARER_TOKEN = re.compile(r"[A-Za-z0-9\-._~+/]+=*")


@check(Tags.security)
def check_metrics_token(**kwargs: Any) -> list[CheckMessage]:
    # The token is a secret: messages describe it, never show it.
    value: Any = conf.metrics_token
    if value is None:
        return []
    if not isinstance(value, str):
        problem = f"must be None or a string, not {type(value).__name__}"
    elif not value:
        problem = "is empty"
    elif not _BEARER_TOKEN.fullmatch(value):
        problem = "contains characters a Bearer token cannot carry (letters, digits and -._~+/ then optional =)"
    else:
        return []
    return [
        Codes.METRICS_TOKEN.msg(Settings.metrics_token.setting_name, problem=problem)
    ]


@check(Tags.security, deploy=True)
def check_metrics_token_length(**kwargs: Any) -> list[CheckMessage]:
    value: Any = conf.metrics_token
    if not isinstance(value, str) or not value or len(value) >= 16:
        return []
    return [
        Codes.METRICS_TOKEN_SHORT.msg(
            Settings.metrics_token.setting_name, length=len(value)
        )
    ]
