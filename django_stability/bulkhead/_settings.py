"""``STABILITY_BULKHEADS``, parsed once, here, for the bulkheads and for the system checks (:mod:`._checks`)."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ImproperlyConfigured

from django_stability.checks._base import (
    Validator,
    kind,
    non_negative_number,
    positive_int,
    positive_number,
    show,
    suggest,
)
from django_stability.conf import Settings, cached_on_settings, conf

SETTING = Settings.bulkheads.setting_name

# The name is part of a shared-state key and of a metric label: a short, plain word.
_NAME = re.compile(r"[A-Za-z0-9._:-]{1,200}")


def boolean(value: Any) -> str | None:
    return (
        None if isinstance(value, bool) else f"must be True or False, not {kind(value)}"
    )


def _option(default: Any, rule: Validator) -> Any:
    return field(default=default, metadata={"rule": rule})


@dataclass(frozen=True)
class BulkheadConfig:
    """The options of one bulkhead (``STABILITY_BULKHEADS[name]``), with their defaults.

    Attributes:
        max_concurrent: Calls admitted at once (per process, or across every
            process when ``shared``).
        max_wait: Seconds a call waits for a place before ``BulkheadFull``;
            ``0`` refuses at once.
        shared: Count calls across every process through the shared-state engine.
        lease: Seconds a shared place is held at most: a process that dies
            while holding one frees it after this long.

    Raises:
        ImproperlyConfigured: an option breaks its rule (what ``manage.py
            check`` reports as E051).

    .. versionadded:: 0.1
    """

    max_concurrent: int = _option(10, positive_int)
    max_wait: float = _option(0.0, non_negative_number)
    shared: bool = _option(False, boolean)
    lease: float = _option(60.0, positive_number)

    def __post_init__(self) -> None:
        for where, problem in _option_problems(dataclasses.asdict(self)):
            raise ImproperlyConfigured(f"bulkhead option {where} {problem}")

    @classmethod
    def rules(cls) -> dict[str, Validator]:
        """Every option, in declaration order, with the rule its value must follow."""
        return {f.name: f.metadata["rule"] for f in dataclasses.fields(cls)}


def valid_name(name: object) -> bool:
    """Whether ``name`` can name a bulkhead: 1-200 characters of ``[A-Za-z0-9._:-]``."""
    return isinstance(name, str) and _NAME.fullmatch(name) is not None


def check_name(name: object) -> str:
    """``name``, or ``ValueError`` saying what a bulkhead name is."""
    if not valid_name(name):
        raise ValueError(
            f"bulkhead names are 1-200 characters of [A-Za-z0-9._:-], not {name!r}"
        )
    return name  # type: ignore[return-value]


def _option_problems(options: Mapping[Any, Any]) -> list[tuple[str, str]]:
    rules = BulkheadConfig.rules()
    found = []
    for key, value in options.items():
        rule = rules.get(key) if isinstance(key, str) else None
        if rule is None:
            problem = f"is not a bulkhead option{suggest(str(key), list(rules))}"
            found.append((show(key), f"{problem}; known options: {', '.join(rules)}"))
        elif (invalid := rule(value)) is not None:
            found.append((show(key), invalid))
    return found


def problems(value: Any) -> list[tuple[str, bool, str]]:
    """``(where, about an option, problem)`` for everything wrong with the setting's ``value``."""
    if not isinstance(value, Mapping):
        return [
            (
                "",
                False,
                f"must be a dict of bulkhead name -> options, not {kind(value)}",
            )
        ]
    found = []
    for name, options in value.items():
        if not valid_name(name):
            problem = f"has an invalid bulkhead name: {kind(name)} (1-200 characters of [A-Za-z0-9._:-])"
            found.append(("", False, problem))
        elif not isinstance(options, Mapping):
            problem = f"must be a dict of options, not {kind(options)}"
            found.append((f"[{name!r}]", False, problem))
        else:
            found.extend(
                (f"[{name!r}][{where}]", True, problem)
                for where, problem in _option_problems(options)
            )
    return found


def parse(value: Any) -> dict[str, BulkheadConfig]:
    """The setting's value as name -> config, or ``ImproperlyConfigured`` naming the first problem."""
    for where, _, problem in problems(value):
        raise ImproperlyConfigured(f"{SETTING}{where} {problem}.")
    return {name: BulkheadConfig(**options) for name, options in value.items()}


@cached_on_settings
def configured() -> dict[str, BulkheadConfig]:
    """``STABILITY_BULKHEADS`` parsed, until the settings change."""
    return parse(conf.bulkheads)


def config_for(name: str) -> BulkheadConfig:
    """Bulkhead ``name``'s options: its ``STABILITY_BULKHEADS`` entry, or the defaults."""
    return configured().get(name) or _DEFAULT


_DEFAULT = BulkheadConfig()
