"""``RateLimitMiddleware``: ``STABILITY_RATELIMIT`` per client IP, shared by every worker."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.http import HttpRequest
from django.http.response import HttpResponseBase

from django_stability.checks._rates import Rate
from django_stability.conf import cached_on_settings
from django_stability.ratelimit._client_ip import client_ip
from django_stability.ratelimit._core import (
    Usage,
    ahit,
    counter_key,
    hit,
    ip_value,
    wall_clock,
)
from django_stability.ratelimit._responses import refusal, with_headers
from django_stability.ratelimit._settings import (
    Exempt,
    exempt_setting,
    fail_open_setting,
    global_rate_setting,
    parse_exempt,
    parse_fail_open,
    parse_global_rate,
)
from django_stability.state import get_engine

# Any: Django passes a sync or an async callable, told apart at runtime by async_mode.
GetResponse = Callable[[HttpRequest], Any]

#: The group of the global limit: in counter keys and in ``stability_ratelimited_total``.
GLOBAL_GROUP = "global"


class _Policy(NamedTuple):
    rate: Rate | None
    exempt: Exempt
    fail_open: bool


@cached_on_settings
def _setting_policy() -> _Policy:
    # One memoised lookup per request rather than three.
    return _Policy(global_rate_setting(), exempt_setting(), fail_open_setting())


class _Todo(NamedTuple):
    rate: Rate
    key: str
    fail_open: bool


_UNSET: Any = object()


class RateLimitMiddleware:
    """Limit each client IP to ``STABILITY_RATELIMIT`` requests, counted across every worker.

    One atomic round trip per request not under an exempt path; what a refusal
    and an outage answer is in docs/ratelimit.rst. Put it right after
    ``AccessLogMiddleware``, so that refused requests are logged.

    Args:
        get_response: The next handler, given by Django.
        rate: Overrides ``STABILITY_RATELIMIT`` (``None`` disables).
        exempt: Overrides ``STABILITY_RATELIMIT_EXEMPT``.
        fail_open: Overrides ``STABILITY_RATELIMIT_FAIL_OPEN``.
        clock: Wall-clock seconds (tests inject a fake one).

    Raises:
        ImproperlyConfigured: a rate, prefix list or flag is malformed.

    .. versionadded:: 0.1
    """

    sync_capable = True
    async_capable = True

    def __init__(
        self,
        get_response: GetResponse,
        *,
        rate: str | None = _UNSET,
        exempt: Sequence[str] | None = None,
        fail_open: bool | None = None,
        clock: Callable[[], float] = wall_clock,
    ) -> None:
        self.get_response = get_response
        self.async_mode = iscoroutinefunction(get_response)
        if self.async_mode:
            markcoroutinefunction(self)
        self.clock = clock
        # Overrides are validated now; the settings too, rather than on the first request.
        setting = _setting_policy()
        self._policy: _Policy | None = None
        if rate is not _UNSET or exempt is not None or fail_open is not None:
            self._policy = _Policy(
                setting.rate if rate is _UNSET else parse_global_rate(rate, "rate"),
                setting.exempt if exempt is None else parse_exempt(exempt, "exempt"),
                setting.fail_open
                if fail_open is None
                else parse_fail_open(fail_open, "fail_open"),
            )

    def __call__(self, request: HttpRequest) -> Any:
        if self.async_mode:
            return self.__acall__(request)
        if (todo := self._before(request)) is None:
            return self.get_response(request)
        usage = hit(get_engine(), todo.rate, todo.key, self.clock())
        refused = self._refusal(todo, usage)
        return refused or with_headers(self.get_response(request), usage)

    async def __acall__(self, request: HttpRequest) -> HttpResponseBase:
        if (todo := self._before(request)) is None:
            return await self.get_response(request)  # type: ignore[no-any-return]
        usage = await ahit(get_engine(), todo.rate, todo.key, self.clock())
        refused = self._refusal(todo, usage)
        return refused or with_headers(await self.get_response(request), usage)

    def _before(self, request: HttpRequest) -> _Todo | None:
        """What to count for ``request``; ``None`` when it is not limited."""
        policy = self._policy or _setting_policy()
        if policy.rate is None or policy.exempt(request.path_info):
            return None
        key = counter_key(GLOBAL_GROUP, policy.rate, ip_value(client_ip(request)))
        return _Todo(policy.rate, key, policy.fail_open)

    def _refusal(self, todo: _Todo, usage: Usage) -> HttpResponseBase | None:
        return refusal(
            get_engine(), usage, todo.rate, GLOBAL_GROUP, fail_open=todo.fail_open
        )
