"""Checks of the project around the settings: names, middleware order, deployment."""

from __future__ import annotations

import difflib
from typing import Any

from django.apps import apps
from django.conf import settings
from django.core.checks import CheckMessage, Tags

from django_stability.checks._base import check, closest, is_list, show, suggest
from django_stability.checks._codes import Codes
from django_stability.checks._message import REMOVED_SETTINGS
from django_stability.conf import PREFIX, Settings, conf

# DESIGN.md "Middleware": the order of ours relative to each other.
MIDDLEWARE_ORDER = (
    "CorrelationIdMiddleware",
    "AccessLogMiddleware",
    "RateLimitMiddleware",
    "CacheHeadersMiddleware",
    "ProblemDetailsMiddleware",
)
_OUR_MIDDLEWARE = "django_stability.middleware."


def _did_you_mean(name: str, known: list[str]) -> str:
    # Compare what follows the prefix, which every known name shares.
    if not name.startswith(PREFIX):
        return suggest(name, known)
    match = closest(name.removeprefix(PREFIX), [k.removeprefix(PREFIX) for k in known])
    return "" if match is None else f" (did you mean {PREFIX + match!r}?)"


@check(Tags.compatibility)
def check_setting_names(**kwargs: Any) -> list[CheckMessage]:
    known = Settings.setting_names()
    messages = []
    for name in sorted(n for n in dir(settings) if n.isupper() and n not in known):
        if name in REMOVED_SETTINGS:
            version, advice = REMOVED_SETTINGS[name]
            messages.append(
                Codes.REMOVED_SETTING.msg(name, version=version, advice=advice)
            )
        elif name.startswith(PREFIX) or difflib.get_close_matches(
            name, known, n=1, cutoff=0.9
        ):
            messages.append(
                Codes.UNKNOWN_SETTING.msg(name, suggestion=_did_you_mean(name, known))
            )
    return messages


@check()
def check_middleware_order(**kwargs: Any) -> list[CheckMessage]:
    middleware: Any = settings.MIDDLEWARE
    if not is_list(middleware):
        return []  # Django reports a malformed MIDDLEWARE itself
    ours = [
        entry.rpartition(".")[2]
        for entry in middleware
        if isinstance(entry, str)
        and entry.startswith(_OUR_MIDDLEWARE)
        and entry.rpartition(".")[2] in MIDDLEWARE_ORDER
    ]
    messages = []
    for index, current in enumerate(ours):
        rank = MIDDLEWARE_ORDER.index(current)
        later = next(
            (m for m in ours[:index] if MIDDLEWARE_ORDER.index(m) > rank), None
        )
        if later is not None:
            messages.append(
                Codes.MIDDLEWARE_ORDER.msg(
                    "MIDDLEWARE",
                    first=current,
                    second=later,
                    order=", ".join(MIDDLEWARE_ORDER),
                )
            )
    return messages


@check(Tags.caches, deploy=True)
def check_redis_url_set(**kwargs: Any) -> list[CheckMessage]:
    if settings.DEBUG or conf.redis_url is not None:
        return []
    return [Codes.REDIS_URL_UNSET.msg(Settings.redis_url.setting_name)]


def _asgi_evidence() -> str | None:
    if getattr(settings, "ASGI_APPLICATION", None):
        return "ASGI_APPLICATION is set"
    for app in ("daphne", "channels"):
        if apps.is_installed(app):
            return f"{app!r} is in INSTALLED_APPS"
    return None


@check(Tags.database, deploy=True)
def check_conn_max_age_asgi(**kwargs: Any) -> list[CheckMessage]:
    evidence = _asgi_evidence()
    if evidence is None:
        return []
    messages = []
    for alias, database in settings.DATABASES.items():
        max_age = database.get("CONN_MAX_AGE", 0)
        if max_age is None or (isinstance(max_age, int | float) and max_age > 0):
            where = f"DATABASES[{alias!r}]['CONN_MAX_AGE']"
            messages.append(
                Codes.CONN_MAX_AGE_ASGI.msg(
                    "DATABASES", where=where, value=show(max_age), evidence=evidence
                )
            )
    return messages
