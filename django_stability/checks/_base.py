"""The check collector and the small validators the setting checks share."""

from __future__ import annotations

import difflib
import inspect
import math
import reprlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.core.checks import CheckMessage
from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string

from django_stability.conf import PREFIX, cached_on_settings, conf

# Every check also carries this tag: ``manage.py check --tag django_stability``.
TAG = "django_stability"

Check = Callable[..., list[CheckMessage]]
Validator = Callable[[Any], str | None]


@dataclass(frozen=True)
class RegisteredCheck:
    func: Check
    tags: tuple[str, ...]
    deploy: bool


# In definition order, which is the order their messages are reported in.
CHECKS: list[RegisteredCheck] = []

_repr = reprlib.Repr()
_repr.maxstring = 60
_repr.maxother = 60


def check(*tags: str, deploy: bool = False) -> Callable[[Check], Check]:
    """Collect a check function; ``register_all()`` registers it with Django."""

    def collect(func: Check) -> Check:
        CHECKS.append(RegisteredCheck(func, (TAG, *tags), deploy))
        return func

    return collect


def show(value: Any) -> str:
    """A short, safe rendering of a setting value for a message."""
    return _repr.repr(value)


def kind(value: Any) -> str:
    """The type and a short rendering of a value: ``str 'ten'``, ``class builtins.int``."""
    if isinstance(value, type) or inspect.isroutine(value):
        what = "class" if isinstance(value, type) else "function"
        return f"{what} {value.__module__}.{value.__qualname__}"
    return f"{type(value).__name__} {show(value)}"


def closest(name: str, known: Sequence[str]) -> str | None:
    """The known name closest to ``name`` (case-insensitively), if any is close."""
    by_upper = {k.upper(): k for k in known}
    matches = difflib.get_close_matches(name.upper(), list(by_upper), n=1, cutoff=0.6)
    return by_upper[matches[0]] if matches else None


def suggest(name: str, known: Sequence[str]) -> str:
    """`` (did you mean 'X'?)`` for the closest known name, else ``""``."""
    match = closest(name, known)
    return "" if match is None else f" (did you mean {match!r}?)"


def is_list(value: Any) -> bool:
    """A list or tuple: a bare string is the classic mistake for a one-item list."""
    return isinstance(value, list | tuple)


def _is_number(value: Any) -> bool:
    return (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and math.isfinite(value)
    )


def positive_int(value: Any) -> str | None:
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return None
    return f"must be a positive whole number, not {kind(value)}"


def positive_number(value: Any) -> str | None:
    if _is_number(value) and value > 0:
        return None
    return f"must be a positive number, not {kind(value)}"


def non_negative_number(value: Any) -> str | None:
    if _is_number(value) and value >= 0:
        return None
    return f"must be a number, 0 or more, not {kind(value)}"


def percent(value: Any) -> str | None:
    if _is_number(value) and 0 < value <= 100:
        return None
    return f"must be a percentage above 0 and at most 100, not {kind(value)}"


def positive_timedelta(value: Any) -> str | None:
    if isinstance(value, timedelta) and value > timedelta(0):
        return None
    return f"must be a positive datetime.timedelta, not {kind(value)}"


def optional(validator: Validator) -> Validator:
    """``validator``, also accepting ``None``."""

    def optional(value: Any) -> str | None:
        problem = None if value is None else validator(value)
        return (
            None
            if problem is None
            else f"must be None or {problem.removeprefix('must be ')}"
        )

    return optional


def import_object(path: str) -> tuple[Any, str | None]:
    """``(object, None)``, or ``(None, problem)`` when ``path`` cannot be imported."""
    try:
        return import_string(path), None
    except (
        Exception
    ) as exc:  # any import-time failure is the user's to see, not a crash
        return None, f"{path!r} cannot be imported ({type(exc).__name__}: {exc})"


def dotted_callable(value: Any) -> str | None:
    if not isinstance(value, str):
        return f"must be the dotted path of a callable, not {kind(value)}"
    obj, problem = import_object(value)
    if problem is None and not callable(obj):
        problem = f"{value!r} is not callable"
    return (
        None if problem is None else f"must be the dotted path of a callable: {problem}"
    )


def exception_classes(value: Any) -> str | None:
    if not is_list(value):
        return f"must be a list of exception classes or their dotted paths, not {kind(value)}"
    for index, item in enumerate(value):
        problem = None
        if isinstance(item, str):
            item, problem = import_object(item)
        if problem is None and not (
            isinstance(item, type) and issubclass(item, BaseException)
        ):
            problem = f"{kind(item)} is not an exception class"
        if problem is not None:
            return f"item {index}: {problem}"
    return None


def prefix_problems(value: Any) -> list[tuple[str, str]]:
    """``(where suffix, problem)`` for a list of URL path prefixes."""
    if not is_list(value):
        return [("", f"must be a list of path prefixes, not {kind(value)}")]
    return [
        (f"[{index}]", f"must be a path prefix starting with '/', not {kind(item)}")
        for index, item in enumerate(value)
        if not (isinstance(item, str) and item.startswith("/"))
    ]


class SettingRules:
    """Settings (their ``conf`` attributes) and each one's rule: the one parser the checks and the running code share."""

    def __init__(self, **rules: Validator) -> None:
        self.rules = rules
        # Parsed once per settings: the running code asks on every call.
        self.value: Callable[[str], Any] = cached_on_settings(self._value)

    def problem(self, attribute: str) -> str | None:
        """What is wrong with the setting, phrased to follow its name; ``None`` if valid."""
        return self.rules[attribute](getattr(conf, attribute))

    def _value(self, attribute: str) -> Any:
        """The setting's value, or ImproperlyConfigured naming it and what is wrong."""
        if (found := self.problem(attribute)) is not None:
            raise ImproperlyConfigured(f"{PREFIX}{attribute.upper()} {found}.")
        return getattr(conf, attribute)


def refuse(messages: Sequence[CheckMessage]) -> None:
    """Raise ImproperlyConfigured with the first error among ``messages``: a check's verdict at run time."""
    for message in messages:
        if message.is_serious():
            raise ImproperlyConfigured(f"{message.msg} ({message.id})")


def prefixes_or_refuse(value: Any, setting: str) -> tuple[str, ...]:
    """``value`` as a tuple of path prefixes, or ImproperlyConfigured with :func:`prefix_problems`'s first."""
    for suffix, problem in prefix_problems(value):
        raise ImproperlyConfigured(f"{setting}{suffix} {problem}.")
    return tuple(value)
