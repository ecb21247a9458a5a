"""System checks of ``STABILITY_BULKHEADS``, wording the complaints of :mod:`._settings`."""

from __future__ import annotations

from typing import Any

from django.core.checks import CheckMessage

from django_stability.bulkhead._settings import SETTING, problems
from django_stability.checks._base import check
from django_stability.checks._codes import Codes
from django_stability.conf import conf


@check()
def check_bulkheads(**kwargs: Any) -> list[CheckMessage]:
    return [
        (Codes.BULKHEAD_OPTION if about_option else Codes.BULKHEADS).msg(
            SETTING, where=SETTING + where, problem=problem
        )
        for where, about_option, problem in problems(conf.bulkheads)
    ]
