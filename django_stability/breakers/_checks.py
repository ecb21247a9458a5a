"""System checks of ``STABILITY_BREAKERS``.

The options and the rule each one follows are declared once, on
:class:`._config.BreakerConfig`, which the running breakers are built from;
names are judged by :func:`._registry.valid_name`, the rule
:func:`._registry.breaker` enforces. The IDs are declared with the others in
:class:`django_stability.checks.Codes`. The checks join the project's registry
when the app config imports this module, before it registers them all.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.core.checks import CheckMessage

from django_stability.breakers._config import BreakerConfig
from django_stability.breakers._registry import valid_name
from django_stability.checks._base import check, kind, show, suggest
from django_stability.checks._codes import Codes
from django_stability.conf import Settings, conf


def _breaker_messages(name: str, breaker: Any, options: Any) -> list[CheckMessage]:
    if not valid_name(breaker):
        problem = f"has an invalid breaker name: {kind(breaker)}"
        return [Codes.BREAKERS.msg(name, problem=problem)]
    where = f"{name}[{breaker!r}]"
    if not isinstance(options, Mapping):
        problem = f"must be a dict of options, not {kind(options)}"
        return [Codes.BREAKERS.msg(name, where=where, problem=problem)]
    rules = BreakerConfig.rules()
    messages = []
    for key, option in options.items():
        option_where = f"{where}[{show(key)}]"
        rule = rules.get(key) if isinstance(key, str) else None
        if rule is None:
            messages.append(
                Codes.BREAKER_OPTION_UNKNOWN.msg(
                    name,
                    where=option_where,
                    suggestion=suggest(str(key), list(rules)),
                    known=", ".join(rules),
                )
            )
        elif invalid := rule(option):
            messages.append(
                Codes.BREAKER_OPTION.msg(name, where=option_where, problem=invalid)
            )
    return messages


@check()
def check_breakers(**kwargs: Any) -> list[CheckMessage]:
    name = Settings.breakers.setting_name
    value: Any = conf.breakers
    if not isinstance(value, Mapping):
        problem = f"must be a dict of breaker name -> options, not {kind(value)}"
        return [Codes.BREAKERS.msg(name, problem=problem)]
    return [
        message
        for breaker, options in value.items()
        for message in _breaker_messages(name, breaker, options)
    ]
