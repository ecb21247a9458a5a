"""Whether an error is answered as ``application/problem+json`` or left to Django's pages.

A path under ``STABILITY_API_PREFIXES``, or an ``Accept`` header that prefers
JSON to HTML (RFC 9110 section 12.5.1, as ``docs/errors.rst`` explains)."""

from __future__ import annotations

import functools
from collections.abc import Callable

from django.http import HttpRequest

from django_stability.checks._base import prefixes_or_refuse
from django_stability.conf import cached_on_settings, conf

# (quality, specificity); specificity -1 means "no range matches".
_Rank = tuple[float, int]
_NO_MATCH: _Rank = (0.0, -1)


@cached_on_settings
def api_prefixes() -> tuple[str, ...]:
    """``STABILITY_API_PREFIXES`` as a validated tuple (for ``str.startswith``)."""
    return prefixes_or_refuse(conf.api_prefixes, "STABILITY_API_PREFIXES")


def under_prefixes(request: HttpRequest, prefixes: tuple[str, ...]) -> bool:
    """Whether the request path (without the script prefix) is under one of ``prefixes``."""
    return request.path_info.startswith(prefixes)


def is_json_type(content_type: str) -> bool:
    """Whether a Content-Type (parameters allowed) is JSON: ``application/json`` or ``*/*+json``."""
    media = content_type.partition(";")[0].strip().lower()
    return media == "application/json" or media.endswith("+json")


@functools.lru_cache(maxsize=256)
def prefers_json(accept: str) -> bool:
    """Whether an ``Accept`` header value prefers JSON to HTML (``docs/errors.rst``)."""
    if not accept:
        return False
    ranges = _parse(accept)
    json_q, json_spec = _rank(ranges, _is_json_subtype)
    return json_q > 0 and (json_q, json_spec) > _rank(
        ranges, _is_html_subtype, main="text"
    )


def _parse(accept: str) -> list[tuple[str, str, float]]:
    ranges = []
    for part in accept.split(","):
        media, _, params = part.partition(";")
        main, slash, sub = media.strip().lower().partition("/")
        if not (slash and main and sub) or (main == "*" and sub != "*"):
            continue
        quality = _quality(params)
        # NaN fails both comparisons, so it is dropped with the out-of-range values.
        if 0.0 <= quality <= 1.0:
            ranges.append((main, sub, quality))
    return ranges


def _quality(params: str) -> float:
    for param in params.split(";"):
        name, _, value = param.partition("=")
        if name.strip().lower() == "q":
            try:
                return float(value.strip())
            except ValueError:
                return -1.0
    return 1.0


def _is_json_subtype(sub: str) -> bool:
    return sub == "json" or sub.endswith("+json")


def _is_html_subtype(sub: str) -> bool:
    return sub == "html"


def _rank(
    ranges: list[tuple[str, str, float]],
    is_exact: Callable[[str], bool],
    main: str = "application",
) -> _Rank:
    best = _NO_MATCH
    for r_main, r_sub, quality in ranges:
        if r_main == main and is_exact(r_sub):
            specificity = 2
        elif r_main == main and r_sub == "*":
            specificity = 1
        elif r_main == "*":
            specificity = 0
        else:
            continue
        # The most specific range decides; among equally specific ones, the best quality.
        if (specificity, quality) > (best[1], best[0]):
            best = (quality, specificity)
    return best
