"""System checks of ``STABILITY_REALTIME``: the problems its parser (``_settings``) finds, worded."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.apps import apps
from django.core.checks import CheckMessage

from django_stability.checks._base import check
from django_stability.checks._codes import Codes
from django_stability.conf import Settings, conf
from django_stability.realtime._settings import KEYS, parse, where


@check()
def check_realtime(**kwargs: Any) -> list[CheckMessage]:
    name = Settings.realtime.setting_name
    known = ", ".join(KEYS)
    return [
        Codes.REALTIME_OPTION.msg(name, where=where(p), problem=p.problem)
        if p.option
        else Codes.REALTIME.msg(name, where=where(p), problem=p.problem, known=known)
        for p in parse(conf.realtime)[1]
    ]


@check()
def check_realtime_channels(**kwargs: Any) -> list[CheckMessage]:
    """An empty channel policy refuses every subscription: say so where realtime is installed."""
    value: Any = conf.realtime
    if not apps.is_installed("channels") or not isinstance(value, Mapping):
        return []
    if value.get("CHANNELS"):
        return []
    return [Codes.REALTIME_NO_CHANNELS.msg(Settings.realtime.setting_name)]
