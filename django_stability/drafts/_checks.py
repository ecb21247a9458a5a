"""System checks of the drafts settings, wording the complaints of :mod:`._settings`."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage

from django_stability.checks._base import check
from django_stability.checks._codes import Codes
from django_stability.conf import PREFIX, conf
from django_stability.drafts._settings import RULES

_CODES = (Codes.DRAFT_TTL, Codes.DRAFT_MAX_BYTES, Codes.DRAFTS_PER_USER)


@check()
def check_drafts(**kwargs: Any) -> list[CheckMessage]:
    messages = []
    for attribute, code in zip(RULES.rules, _CODES, strict=True):
        name = f"{PREFIX}{attribute.upper()}"
        if (found := RULES.problem(attribute)) is not None:
            messages.append(code.msg(name, problem=found))
        elif attribute == "draft_max_bytes":
            # Django refuses a larger body before the drafts view can read it.
            upload: Any = settings.DATA_UPLOAD_MAX_MEMORY_SIZE  # None: no limit
            if upload is not None and (value := conf.draft_max_bytes) > upload:
                code = Codes.DRAFT_MAX_BYTES_OVER_UPLOAD
                messages.append(code.msg(name, value=value, upload=upload))
    return messages
