"""``@ratelimit``: django-ratelimit's decorator, answered as django-stability answers limits."""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from asgiref.sync import iscoroutinefunction
from django.http import HttpRequest
from django.http.response import HttpResponseBase
from django.utils.module_loading import import_string

from django_stability.checks._rates import Rate, parse_rate
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
from django_stability.ratelimit._settings import fail_open_setting
from django_stability.state import get_engine

#: Every method (django-ratelimit's ``ALL``).
ALL: tuple[None] = (None,)
#: The methods that change state (django-ratelimit's ``UNSAFE``).
UNSAFE: tuple[str, ...] = ("DELETE", "PATCH", "POST", "PUT")

F = TypeVar("F", bound=Callable[..., Any])
RateSpec = str | tuple[int, int] | Rate | Callable[[str, HttpRequest], Any] | None
KeySpec = str | Callable[[str, HttpRequest], str]

_SIMPLE_KEYS = ("ip", "user", "user_or_ip")
_FIELD_KEYS = ("get", "post", "header")


def _check_key(key: object) -> Callable[[str, HttpRequest], str] | str:
    if callable(key):
        return key
    if not isinstance(key, str) or not key:
        raise TypeError(f"key must be a string or a callable, not {key!r}")
    if key in _SIMPLE_KEYS:
        return key
    kind, sep, name = key.partition(":")
    if sep and kind in _FIELD_KEYS and name:
        return key
    if "." in key:
        return import_string(key)  # type: ignore[no-any-return]
    raise ValueError(
        f"unknown rate-limit key {key!r}: use 'ip', 'user', 'user_or_ip', "
        "'get:<name>', 'post:<name>', 'header:<name>', a callable or its dotted path"
    )


def _as_rate(value: object) -> Rate | None:
    if value is None:
        return None
    if isinstance(value, Rate):
        return value
    if isinstance(value, tuple):
        if (
            len(value) != 2
            or not all(isinstance(v, int) and not isinstance(v, bool) for v in value)
            or min(value) < 1
        ):
            raise ValueError(f"a rate tuple is (count, seconds), both >= 1: {value!r}")
        return Rate(*value)
    return parse_rate(value)  # type: ignore[arg-type]


def _check_rate(rate: RateSpec) -> Rate | Callable[[str, HttpRequest], Any] | None:
    if callable(rate):
        return rate
    if isinstance(rate, str) and "/" not in rate and "." in rate:
        return import_string(rate)  # type: ignore[no-any-return]
    return _as_rate(rate)


def _methods(method: str | Sequence[str | None] | None) -> frozenset[str] | None:
    if method is None or tuple(method) == ALL:
        return None
    methods = [method] if isinstance(method, str) else list(method)
    if not methods or not all(isinstance(m, str) and m for m in methods):
        raise TypeError(f"method must be ALL, a method name or a list, not {method!r}")
    return frozenset(str(m).upper() for m in methods)


def _field_value(key: str, request: HttpRequest) -> str:
    kind, _, name = key.partition(":")
    if kind == "get":
        return request.GET.get(name, "")
    if kind == "post":
        return request.POST.get(name, "")
    return request.headers.get(name, "")


def _user_value(key: str, user: Any, request: HttpRequest) -> str:
    if user.is_authenticated:
        return f"u:{user.pk}"
    # An anonymous caller has no user to count: 'user' and 'user_or_ip' count its address.
    return ip_value(client_ip(request))


class _Rule:
    """One decorated view's limit, resolved per request."""

    def __init__(
        self,
        group: str,
        key: Callable[[str, HttpRequest], str] | str,
        rate: Rate | Callable[[str, HttpRequest], Any] | None,
        methods: frozenset[str] | None,
        block: bool,
    ) -> None:
        self.group, self.key, self.rate = group, key, rate
        self.methods, self.block = methods, block

    def applies(self, request: HttpRequest) -> Rate | None:
        """The rate for this request, or ``None`` when it is not counted."""
        if self.methods is not None and request.method not in self.methods:
            return None
        if callable(self.rate):
            return _as_rate(self.rate(self.group, request))
        return self.rate

    def value(self, request: HttpRequest) -> str | None:
        """The counted value, unless it needs the user (then ``None``: see :meth:`avalue`)."""
        key = self.key
        if callable(key):
            return str(key(self.group, request))
        if key == "ip":
            return ip_value(client_ip(request))
        if key in ("user", "user_or_ip"):
            return _user_value(key, request.user, request)
        return _field_value(key, request)

    async def avalue(self, request: HttpRequest) -> str | None:
        if self.key in ("user", "user_or_ip"):
            return _user_value(str(self.key), await request.auser(), request)
        return self.value(request)

    def after(
        self, request: HttpRequest, rate: Rate, usage: Usage
    ) -> HttpResponseBase | None:
        """Annotate ``request``; the refusal when blocking, else ``None``."""
        request.ratelimit = usage  # type: ignore[attr-defined]
        refused = refusal(
            get_engine(), usage, rate, self.group, fail_open=fail_open_setting()
        )
        # As django-ratelimit: a request limited by an outer rule stays limited.
        request.limited = getattr(request, "limited", False) or refused is not None  # type: ignore[attr-defined]
        return refused if self.block else None

    def counter(self, rate: Rate, value: str | None) -> str:
        return counter_key("v:" + self.group, rate, value or "")


def _usage_of(request: HttpRequest) -> Usage | None:
    usage = getattr(request, "ratelimit", None)
    return usage if isinstance(usage, Usage) else None


def ratelimit(
    group: str | None = None,
    key: KeySpec = "ip",
    rate: RateSpec = None,
    method: str | Sequence[str | None] | None = ALL,
    block: bool = True,
    *,
    clock: Callable[[], float] = wall_clock,
) -> Callable[[F], F]:
    """Limit a view (sync or async) to ``rate`` hits per ``key`` value.

    Args:
        group: Views sharing a group share counters; default the view's dotted name.
        key: ``"ip"``, ``"user"``, ``"user_or_ip"``, ``"get:<name>"``,
            ``"post:<name>"``, ``"header:<name>"``, a callable
            ``(group, request) -> str`` or its dotted path.
        rate: ``"N/u"`` or ``"N/Mu"``, ``(count, seconds)``, a callable
            ``(group, request) -> rate | None`` or its dotted path; ``None``: no limit.
        method: ``ALL``, a method name or a list of them (``UNSAFE``): only
            those are counted.
        block: ``True`` answers 429 over the limit; ``False`` only sets
            ``request.limited``.
        clock: Wall-clock seconds (tests inject a fake one).

    Raises:
        TypeError, ValueError: an argument is malformed (raised when decorating).
        ImportError: a dotted path does not import.

    .. versionadded:: 0.1
    """
    checked_key, checked_rate = _check_key(key), _check_rate(rate)
    methods = _methods(method)

    def decorate(view: F) -> F:
        rule = _Rule(
            group or f"{view.__module__}.{view.__qualname__}",
            checked_key,
            checked_rate,
            methods,
            block,
        )
        if iscoroutinefunction(view):

            @functools.wraps(view)
            async def awrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
                if (rate := rule.applies(request)) is not None:
                    value = await rule.avalue(request)
                    usage = await ahit(
                        get_engine(), rate, rule.counter(rate, value), clock()
                    )
                    if (refused := rule.after(request, rate, usage)) is not None:
                        return refused
                return with_headers(
                    await view(request, *args, **kwargs), _usage_of(request)
                )

            return awrapper  # type: ignore[return-value]

        @functools.wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
            if (rate := rule.applies(request)) is not None:
                value = rule.value(request)
                usage = hit(get_engine(), rate, rule.counter(rate, value), clock())
                if (refused := rule.after(request, rate, usage)) is not None:
                    return refused
            return with_headers(view(request, *args, **kwargs), _usage_of(request))

        return wrapper  # type: ignore[return-value]

    return decorate
