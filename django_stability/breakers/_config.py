"""A breaker's options: defaults, the rule each one follows, and the state machine's units."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from django.core.checks import CheckMessage
from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string

from django_stability.breakers._machine import Limits
from django_stability.checks._base import (
    Validator,
    dotted_callable,
    exception_classes,
    kind,
    optional,
    percent,
    positive_int,
    positive_number,
    show,
    suggest,
)
from django_stability.checks._codes import Codes
from django_stability.conf import Settings

SETTING = Settings.breakers.setting_name

#: How long a breaker's shared record outlives its last use (ms): a week.
RECORD_TTL_MS = 7 * 24 * 3600 * 1000


def _option(default: Any, rule: Validator, *, compare: bool = True) -> Any:
    return field(default=default, compare=compare, metadata={"rule": rule})


@dataclass(frozen=True)
class BreakerConfig:
    """The options of one breaker (``STABILITY_BREAKERS[name]``), with their defaults.

    The options and their meaning are those of the setting (docs/settings.rst);
    ``None`` means "not used" where it is the default, and ``failure_threshold``
    is ``None`` when only ``failure_rate`` is set.

    Raises:
        ImproperlyConfigured: an option breaks its rule (the rule ``manage.py
            check`` reports as E014).

    .. versionadded:: 0.1
    """

    failure_threshold: int | None = _option(5, positive_int)
    failure_rate: float | None = _option(None, percent)
    minimum_calls: int = _option(10, positive_int)
    window: float = _option(60.0, positive_number)
    slow_call_seconds: float | None = _option(None, positive_number)
    slow_call_rate: float | None = _option(None, percent)
    reset_timeout: float = _option(30.0, positive_number)
    half_open_max_calls: int = _option(1, positive_int)
    success_threshold: int = _option(1, positive_int)
    call_timeout: float | None = _option(None, optional(positive_number))
    exclude: tuple[type[BaseException], ...] = _option((), exception_classes)
    fallback: Callable[..., Any] | None = _option(
        None, optional(dotted_callable), compare=False
    )

    def __post_init__(self) -> None:
        for option in dataclasses.fields(self):
            value = getattr(self, option.name)
            if option.name == "fallback":  # imported already: a callable
                problem = (
                    None if value is None or callable(value) else "must be callable"
                )
            elif value is None and (option.default is None or option.name in _RATED):
                problem = None
            else:
                problem = option.metadata["rule"](value)
            if problem is not None:
                raise ImproperlyConfigured(f"breaker option {option.name} {problem}")

    @classmethod
    def rules(cls) -> dict[str, Validator]:
        """Every option, in declaration order, with the rule its value must follow."""
        return {f.name: f.metadata["rule"] for f in dataclasses.fields(cls)}

    @classmethod
    def from_options(cls, name: str, options: Any) -> BreakerConfig:
        """Build from a ``STABILITY_BREAKERS`` entry, importing dotted paths.

        Raises:
            ImproperlyConfigured: the entry breaks a rule; the message is what
                ``manage.py check`` says of it (E012-E014).
        """
        if messages := option_messages(name, options):
            raise ImproperlyConfigured(" ".join(message.msg for message in messages))
        values = dict(options)
        values["exclude"] = tuple(
            import_string(e) if isinstance(e, str) else e
            for e in values.get("exclude", ())
        )
        if isinstance(values.get("fallback"), str):
            values["fallback"] = import_string(values["fallback"])
        if values.get("failure_rate") is not None and "failure_threshold" not in values:
            values["failure_threshold"] = None
        if values.get("slow_call_seconds") is not None:
            values.setdefault("slow_call_rate", 100.0)
        return cls(**values)

    def limits(self) -> Limits:
        """The options in the state machine's units."""
        reset_ms = _ms(self.reset_timeout)
        # A trial permit outlives the call it admits, even a slow one, but
        # not forever: a worker that died mid-trial frees its permit then.
        lease_ms = max(reset_ms, _ms(self.call_timeout or 0))
        return Limits(
            window_ms=_ms(self.window),
            failure_threshold=self.failure_threshold or 0,
            failure_rate=float(self.failure_rate or 0),
            minimum_calls=self.minimum_calls,
            slow_rate=float(self.slow_call_rate or 0)
            if self.slow_call_seconds
            else 0.0,
            reset_ms=reset_ms,
            half_open_max=self.half_open_max_calls,
            success_threshold=self.success_threshold,
            lease_ms=lease_ms,
            ttl_ms=max(RECORD_TTL_MS, reset_ms * 2),
        )

    def as_json(self) -> dict[str, Any]:
        """The options as the breaker JSON's ``config`` shows them."""
        shown = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        shown["exclude"] = [_dotted(e) for e in self.exclude]
        shown["fallback"] = None if self.fallback is None else _dotted(self.fallback)
        return shown


# None is "not used" for the options whose default it is, and for this one once a rate is set.
_RATED = ("failure_threshold",)


def option_messages(name: str, options: Any) -> list[CheckMessage]:
    """What ``manage.py check`` says of breaker ``name``'s options: E012-E014, or nothing."""
    where = f"{SETTING}[{name!r}]"
    if not isinstance(options, Mapping):
        problem = f"must be a dict of options, not {kind(options)}"
        return [Codes.BREAKERS.msg(SETTING, where=where, problem=problem)]
    rules = BreakerConfig.rules()
    messages = []
    for key, value in options.items():
        option_where = f"{where}[{show(key)}]"
        rule = rules.get(key) if isinstance(key, str) else None
        if rule is None:
            suggestion = suggest(str(key), list(rules))
            messages.append(
                Codes.BREAKER_OPTION_UNKNOWN.msg(
                    SETTING,
                    where=option_where,
                    suggestion=suggestion,
                    known=", ".join(rules),
                )
            )
        elif invalid := rule(value):
            messages.append(
                Codes.BREAKER_OPTION.msg(SETTING, where=option_where, problem=invalid)
            )
    return messages


def _dotted(obj: Any) -> str:
    return f"{obj.__module__}.{getattr(obj, '__qualname__', repr(obj))}"


def _ms(seconds: float) -> int:
    return max(1, math.ceil(seconds * 1000)) if seconds else 0
