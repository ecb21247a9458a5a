"""System checks of ``STABILITY_RETRIES``, wording the complaints of :mod:`._settings`.

The checks join the project's registry when the app config imports this module.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.core.checks import CheckMessage

from django_stability.checks._base import check, show
from django_stability.checks._codes import Codes
from django_stability.conf import conf
from django_stability.retry._settings import SETTING, setting_messages, valid_name


@check()
def check_retries(**kwargs: Any) -> list[CheckMessage]:
    return setting_messages(conf.retries)


@check()
def check_retry_breakers(**kwargs: Any) -> list[CheckMessage]:
    retries: Any = conf.retries
    breakers: Any = conf.breakers
    if not isinstance(retries, Mapping) or not isinstance(breakers, Mapping):
        return []  # E053 or E012 says so
    return [
        Codes.RETRY_BREAKER_UNKNOWN.msg(
            SETTING, where=f"{SETTING}[{name!r}]['breaker']", value=show(named)
        )
        for name, options in retries.items()
        if isinstance(options, Mapping)
        and valid_name(named := options.get("breaker"))  # else E055 says so
        and named not in breakers
    ]
