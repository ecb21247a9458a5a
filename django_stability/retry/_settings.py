"""``STABILITY_RETRIES``, parsed once here for the retries and for the system checks (:mod:`._checks`)."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from django.core.checks import CheckMessage
from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string

from django_stability.checks._base import (
    Validator,
    exception_classes,
    kind,
    non_negative_number,
    optional,
    positive_int,
    positive_number,
    refuse,
    show,
    suggest,
)
from django_stability.checks._codes import Codes
from django_stability.conf import Settings, cached_on_settings, conf

SETTING = Settings.retries.setting_name

# "." and ".." excluded, as for breakers: a name may end up in a URL one day.
_NAME = re.compile(r"(?!\.\.?\Z)[A-Za-z0-9._:-]{1,200}")


def valid_name(name: object) -> bool:
    """Whether ``name`` can name a retry (or a breaker): 1-200 characters of ``[A-Za-z0-9._:-]``."""
    return isinstance(name, str) and _NAME.fullmatch(name) is not None


def _non_negative_int(value: Any) -> str | None:
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return None
    return f"must be a whole number, 0 or more, not {kind(value)}"


def _breaker_name(value: Any) -> str | None:
    if valid_name(value):
        return None
    return f"must be a breaker name (1-200 characters of [A-Za-z0-9._:-]), not {kind(value)}"


def _option(default: Any, rule: Validator) -> Any:
    return field(default=default, metadata={"rule": rule})


@dataclass(frozen=True)
class RetryConfig:
    """The options of one retry (``STABILITY_RETRIES[name]``), with their defaults.

    Attributes:
        attempts: Attempts in all, the first included (1: never retry).
        timeout: Seconds after the first attempt past which no retry starts; ``None``: no limit.
        wait_initial: The longest wait before the first retry, in seconds.
        wait_max: The longest wait before any retry, in seconds.
        budget: Retries allowed per call, over all workers in ``window``
            (0.1: one retry for ten calls); ``None``: no budget.
        window: Seconds over which calls and retries are counted.
        min_retries: Retries allowed in each window whatever the number of calls.
        breaker: A breaker whose state the retries ask: none while it is not closed.
        on: The exception classes that are retried.

    Raises:
        ImproperlyConfigured: an option breaks its rule (E055).

    .. versionadded:: 0.1
    """

    attempts: int = _option(3, positive_int)
    timeout: float | None = _option(10.0, optional(positive_number))
    wait_initial: float = _option(0.1, non_negative_number)
    wait_max: float = _option(5.0, non_negative_number)
    budget: float | None = _option(0.1, optional(non_negative_number))
    window: float = _option(10.0, positive_number)
    min_retries: int = _option(3, _non_negative_int)
    breaker: str | None = _option(None, optional(_breaker_name))
    on: tuple[type[BaseException], ...] = _option(
        (ConnectionError, TimeoutError), exception_classes
    )

    def __post_init__(self) -> None:
        for option in dataclasses.fields(self):
            value = getattr(self, option.name)
            if (problem := option.metadata["rule"](value)) is not None:
                raise ImproperlyConfigured(f"retry option {option.name} {problem}")

    @classmethod
    def rules(cls) -> dict[str, Validator]:
        """Every option, in declaration order, with the rule its value must follow."""
        return {f.name: f.metadata["rule"] for f in dataclasses.fields(cls)}

    @classmethod
    def from_options(cls, name: str, options: Any) -> RetryConfig:
        """Build from a ``STABILITY_RETRIES`` entry, importing dotted paths.

        Raises:
            ImproperlyConfigured: the entry breaks a rule, in the words of
                ``manage.py check`` (E053-E055).
        """
        refuse(option_messages(name, options))
        values = dict(options)
        if "on" in values:
            values["on"] = tuple(
                import_string(e) if isinstance(e, str) else e for e in values["on"]
            )
        return cls(**values)


def option_messages(name: str, options: Any) -> list[CheckMessage]:
    """What ``manage.py check`` says of retry ``name``'s options: E053-E055, or nothing."""
    where = f"{SETTING}[{name!r}]"
    if not isinstance(options, Mapping):
        problem = f"must be a dict of options, not {kind(options)}"
        return [Codes.RETRIES.msg(SETTING, where=where, problem=problem)]
    rules = RetryConfig.rules()
    messages = []
    for key, value in options.items():
        option_where = f"{where}[{show(key)}]"
        rule = rules.get(key) if isinstance(key, str) else None
        if rule is None:
            code, fields = Codes.RETRY_OPTION_UNKNOWN, {"known": ", ".join(rules)}
            fields["suggestion"] = suggest(str(key), list(rules))
            messages.append(code.msg(SETTING, where=option_where, **fields))
        elif invalid := rule(value):
            code = Codes.RETRY_OPTION
            messages.append(code.msg(SETTING, where=option_where, problem=invalid))
    return messages


def setting_messages(value: Any) -> list[CheckMessage]:
    """Every error of ``STABILITY_RETRIES`` as a whole: its shape, its names, each entry's options."""
    if not isinstance(value, Mapping):
        problem = f"must be a dict of retry name -> options, not {kind(value)}"
        return [Codes.RETRIES.msg(SETTING, problem=problem)]
    messages = []
    for name, options in value.items():
        if not valid_name(name):
            problem = f"has an invalid retry name: {kind(name)}"
            messages.append(Codes.RETRIES.msg(SETTING, problem=problem))
        else:
            messages.extend(option_messages(name, options))
    return messages


@cached_on_settings
def _configs() -> dict[str, RetryConfig]:
    value: Any = conf.retries
    refuse(setting_messages(value))
    return {name: RetryConfig.from_options(name, opts) for name, opts in value.items()}


_DEFAULT = RetryConfig()


def config_for(name: str) -> RetryConfig:
    """The options of retry ``name``: its ``STABILITY_RETRIES`` entry, or the defaults.

    Raises:
        ImproperlyConfigured: ``STABILITY_RETRIES`` is invalid (what E053-E055 report).
    """
    return _configs().get(name, _DEFAULT)
