"""System checks of ``STABILITY_DEADLINES``, wording the complaints of :mod:`._settings`."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage

from django_stability.checks._base import check, is_list
from django_stability.checks._codes import Codes
from django_stability.conf import conf
from django_stability.deadline._settings import SETTING, problems


@check()
def check_deadlines(**kwargs: Any) -> list[CheckMessage]:
    found = problems(conf.deadlines)
    messages = [
        Codes.DEADLINES.msg(SETTING, where=SETTING + where, problem=problem)
        for where, problem in found
    ]
    if not found and conf.deadlines and not _middleware_installed():
        messages.append(Codes.DEADLINE_MIDDLEWARE_MISSING.msg(SETTING))
    return messages


def _middleware_installed() -> bool:
    middleware: Any = settings.MIDDLEWARE
    return not is_list(middleware) or any(
        isinstance(entry, str) and entry.rpartition(".")[2] == "DeadlineMiddleware"
        for entry in middleware
    )
