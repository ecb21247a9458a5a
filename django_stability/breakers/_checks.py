"""System checks of ``STABILITY_BREAKERS``: the rules a breaker is built by, as messages.

The checks join the project's registry when the app config imports this module.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.core.checks import CheckMessage

from django_stability.breakers._config import SETTING, option_messages
from django_stability.breakers._registry import valid_name
from django_stability.checks._base import check, kind
from django_stability.checks._codes import Codes
from django_stability.conf import conf


@check()
def check_breakers(**kwargs: Any) -> list[CheckMessage]:
    value: Any = conf.breakers
    if not isinstance(value, Mapping):
        problem = f"must be a dict of breaker name -> options, not {kind(value)}"
        return [Codes.BREAKERS.msg(SETTING, problem=problem)]
    messages = []
    for name, options in value.items():
        if not valid_name(name):
            problem = f"has an invalid breaker name: {kind(name)}"
            messages.append(Codes.BREAKERS.msg(SETTING, problem=problem))
        else:
            messages.extend(option_messages(name, options))
    return messages
