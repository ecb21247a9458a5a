"""A breaker's options: defaults, validation at use, and the state machine's units."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string

from django_stability.breakers._machine import Limits
from django_stability.checks._base import (
    Validator,
    dotted_callable,
    exception_classes,
    optional,
    percent,
    positive_int,
    positive_number,
)

#: How long a breaker's shared record outlives its last use (ms): a week.
RECORD_TTL_MS = 7 * 24 * 3600 * 1000


def _option(default: Any, rule: Validator, *, compare: bool = True) -> Any:
    # The rule is what ``manage.py check`` holds the option to (E014).
    return field(default=default, compare=compare, metadata={"rule": rule})


@dataclass(frozen=True)
class BreakerConfig:
    """The options of one breaker (``STABILITY_BREAKERS[name]``), with their defaults.

    Attributes:
        failure_threshold: Failures within ``window`` that open the breaker.
            Defaults to 5, or to ``None`` (not used) when ``failure_rate`` is set.
        failure_rate: Percent of failed calls within ``window`` that opens it,
            once ``minimum_calls`` calls were made; ``None`` to not use a rate.
        minimum_calls: Calls within ``window`` before a rate is judged.
        window: Seconds of the sliding window, cut into ten buckets.
        slow_call_seconds: A call that takes at least this long is slow;
            ``None`` to not time calls.
        slow_call_rate: Percent of slow calls that opens the breaker; 100 when
            ``slow_call_seconds`` is set without it.
        reset_timeout: Seconds open before trial calls are let through.
        half_open_max_calls: Trial calls in flight at once, across all processes.
        success_threshold: Successful trial calls that close the breaker.
        call_timeout: Seconds an async call may take before it is cancelled
            and counted as a failure; ``None`` for no limit.
        exclude: Exception classes that count neither as failure nor as success.
        fallback: Called with the call's arguments instead of raising
            :class:`CircuitOpenError` while the breaker rejects calls.

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
        # The state machine needs integers in ms; the checks (E014) report the
        # same problems with more context, this guards direct construction.
        for name in ("window", "reset_timeout"):
            value = getattr(self, name)
            if not (
                isinstance(value, int | float) and math.isfinite(value) and value > 0
            ):
                raise ImproperlyConfigured(
                    f"breaker option {name} must be a positive number, not {value!r}"
                )

    @classmethod
    def rules(cls) -> dict[str, Validator]:
        """Every option, in declaration order, with the rule its value must follow."""
        return {f.name: f.metadata["rule"] for f in dataclasses.fields(cls)}

    @classmethod
    def from_options(cls, name: str, options: Mapping[str, Any]) -> BreakerConfig:
        """Build from a ``STABILITY_BREAKERS`` entry, importing dotted paths.

        Raises:
            ImproperlyConfigured: an option is unknown or cannot be imported
                (``manage.py check`` explains each problem in detail).
        """
        known = cls.rules()
        values = dict(options)
        unknown = sorted(set(values).difference(known), key=str)
        if unknown:
            raise ImproperlyConfigured(
                f"STABILITY_BREAKERS[{name!r}] has unknown option(s) {unknown}; run manage.py check"
            )
        values["exclude"] = tuple(
            _imported(name, e) if isinstance(e, str) else e
            for e in values.get("exclude", ())
        )
        if isinstance(values.get("fallback"), str):
            values["fallback"] = _imported(name, values["fallback"])
        if values.get("failure_rate") is not None and "failure_threshold" not in values:
            values["failure_threshold"] = None
        if (
            values.get("slow_call_seconds") is not None
            and values.get("slow_call_rate") is None
        ):
            values["slow_call_rate"] = 100.0
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
        fallback = self.fallback
        return {
            "failure_threshold": self.failure_threshold,
            "failure_rate": self.failure_rate,
            "minimum_calls": self.minimum_calls,
            "window": self.window,
            "slow_call_seconds": self.slow_call_seconds,
            "slow_call_rate": self.slow_call_rate,
            "reset_timeout": self.reset_timeout,
            "half_open_max_calls": self.half_open_max_calls,
            "success_threshold": self.success_threshold,
            "call_timeout": self.call_timeout,
            "exclude": [f"{e.__module__}.{e.__qualname__}" for e in self.exclude],
            "fallback": (
                None
                if fallback is None
                else f"{fallback.__module__}.{getattr(fallback, '__qualname__', repr(fallback))}"
            ),
        }


def _imported(name: str, path: str) -> Any:
    try:
        return import_string(path)
    except ImportError as exc:
        raise ImproperlyConfigured(
            f"STABILITY_BREAKERS[{name!r}]: cannot import {path!r} ({exc}); run manage.py check"
        ) from exc


def _ms(seconds: float) -> int:
    return max(1, math.ceil(seconds * 1000)) if seconds else 0
