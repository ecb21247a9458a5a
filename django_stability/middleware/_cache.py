"""CacheHeadersMiddleware: Cache-Control by path prefix, ETag and 304, X-App-Version."""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, NamedTuple, cast

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.utils.cache import get_conditional_response
from django.utils.http import parse_http_date_safe

from django_stability.app_version import app_version as configured_version
from django_stability.app_version import checked_version, set_version_header
from django_stability.checks._base import refuse
from django_stability.checks._cache_control import policy_messages
from django_stability.conf import cached_on_settings, conf

# Any: Django passes a sync or an async callable, told apart at runtime by async_mode.
GetResponse = Callable[[HttpRequest], Any]

_PRECONDITIONS = (
    "HTTP_IF_NONE_MATCH",
    "HTTP_IF_MATCH",
    "HTTP_IF_MODIFIED_SINCE",
    "HTTP_IF_UNMODIFIED_SINCE",
)


class _Policy(NamedTuple):
    prefix: str
    cache_control: str
    no_store: bool


def compile_policies(
    policies: Any, setting: str = "STABILITY_CACHE_POLICIES"
) -> tuple[_Policy, ...]:
    """Validate ``[(prefix, cache_control), ...]`` as the system check does; precompute ``no-store``."""
    refuse(policy_messages(setting, policies))
    return tuple(_Policy(prefix, value, _no_store(value)) for prefix, value in policies)


@cached_on_settings
def _setting_policies() -> tuple[_Policy, ...]:
    return compile_policies(conf.cache_policies)


@functools.lru_cache(maxsize=128)
def _no_store(cache_control: str) -> bool:
    return any(
        d.split("=", 1)[0].strip().lower() == "no-store"
        for d in cache_control.split(",")
    )


def _etag(content: bytes) -> str:
    # SHA-1 is the fastest of hashlib's digests on CPUs with SHA extensions; not a security use.
    return '"' + hashlib.sha1(content, usedforsecurity=False).hexdigest()[:32] + '"'


class CacheHeadersMiddleware:
    """Add Cache-Control policies, ETag / 304 and ``X-App-Version`` to responses.

    Put it after Django's own middleware (before ``ProblemDetailsMiddleware``).

    Args:
        get_response: The next handler, given by Django.
        policies: ``[(path_prefix, cache_control), ...]``, first match wins;
            defaults to ``STABILITY_CACHE_POLICIES`` (read live).
        app_version: The ``X-App-Version`` value; defaults to ``STABILITY_APP_VERSION``.

    Raises:
        ImproperlyConfigured: a policy or the version is malformed.

    .. versionadded:: 0.1
    """

    sync_capable = True
    async_capable = True

    def __init__(
        self,
        get_response: GetResponse,
        *,
        policies: Sequence[tuple[str, str]] | None = None,
        app_version: str | None = None,
    ) -> None:
        self.get_response = get_response
        self.async_mode = iscoroutinefunction(get_response)
        if self.async_mode:
            markcoroutinefunction(self)
        self._policies = (
            None if policies is None else compile_policies(policies, "policies")
        )
        self._version = (
            None if app_version is None else checked_version(app_version, "app_version")
        )
        # Validate the settings at startup rather than on the first request.
        _setting_policies()
        configured_version()

    def __call__(
        self, request: HttpRequest
    ) -> HttpResponseBase | Awaitable[HttpResponseBase]:
        if self.async_mode:
            return self.__acall__(request)
        return self._after(request, self.get_response(request))

    async def __acall__(self, request: HttpRequest) -> HttpResponseBase:
        return self._after(request, await self.get_response(request))

    def _after(
        self, request: HttpRequest, response: HttpResponseBase
    ) -> HttpResponseBase:
        if "Cache-Control" not in response:
            path = request.path_info
            for policy in (
                self._policies if self._policies is not None else _setting_policies()
            ):
                if path.startswith(policy.prefix):
                    if response.status_code < 400 or policy.no_store:
                        response["Cache-Control"] = policy.cache_control
                    break
        if (
            response.status_code == 200
            and request.method in ("GET", "HEAD")
            and not response.streaming
        ):
            response = _conditional(request, cast(HttpResponse, response))
        set_version_header(response, self._version, replace=True)
        return response


def _conditional(request: HttpRequest, response: HttpResponse) -> HttpResponseBase:
    etag = response.get("ETag")
    if etag is None:
        content = response.content
        if not content or _no_store(response.get("Cache-Control", "")):
            return response
        etag = response["ETag"] = _etag(content)
    meta = request.META
    if not any(name in meta for name in _PRECONDITIONS):
        return response
    last_modified = (
        parse_http_date_safe(response["Last-Modified"])
        if "Last-Modified" in response
        else None
    )
    # Given a response, Django returns it or a 304/412: never None.
    return cast(
        HttpResponse,
        get_conditional_response(
            request, etag=etag, last_modified=last_modified, response=response
        ),
    )
