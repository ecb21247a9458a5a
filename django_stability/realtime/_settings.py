"""``STABILITY_REALTIME``, parsed once: each key's default and rule in :class:`RealtimeConfig`."""

from __future__ import annotations

import dataclasses
import functools
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from django_stability.checks._base import (
    Validator,
    dotted_callable,
    kind,
    positive_int,
    positive_number,
    show,
    suggest,
)
from django_stability.checks._rates import Rate, parse_rate, rate_problem
from django_stability.conf import Settings, cached_on_settings, conf
from django_stability.realtime._slots import SLOT_TTL_BEATS

logger = logging.getLogger("django_stability.realtime")

_CHANNEL_PATTERN = re.compile(r"(?:[A-Za-z0-9._:*-]|\{user\.(?:pk|username)\})+")


def _channel_rule(rule: Any) -> str | None:
    if callable(rule) or rule in ("authenticated", "staff"):
        return None
    if not isinstance(rule, str):
        return f"must be 'authenticated', 'staff', 'perm:<app_label>.<codename>' or a callable, not {kind(rule)}"
    if rule.startswith("perm:"):
        if re.fullmatch(r"perm:[\w]+\.[\w]+", rule):
            return None
        return f"{rule!r} must name one permission as 'perm:<app_label>.<codename>'"
    return dotted_callable(rule)


def channel_policy(value: Any) -> str | None:
    """``CHANNELS``: channel pattern -> rule."""
    if not isinstance(value, Mapping):
        return f"must be a dict of channel pattern -> rule, not {kind(value)}"
    for pattern, rule in value.items():
        if not (isinstance(pattern, str) and _CHANNEL_PATTERN.fullmatch(pattern)):
            return (
                f"has an invalid channel pattern {show(pattern)}: use channel characters "
                "[A-Za-z0-9._:-], * and {user.pk} or {user.username}"
            )
        if problem := _channel_rule(rule):
            return f"[{pattern!r}] {problem}"
    return None


def _key(rule: Validator, default: Any) -> Any:
    # The rule is what a value must follow: the checks report it (E019), the parser falls back.
    return field(default=default, metadata={"rule": rule})


@dataclass(frozen=True)
class RealtimeConfig:
    """``STABILITY_REALTIME``: one field per key (its name upper-cased), with its default and rule."""

    heartbeat: float = _key(positive_number, 30.0)
    max_connections_per_user: int = _key(positive_int, 10)
    connect_rate: str = _key(rate_problem, "100/m")
    replay_max_events: int = _key(positive_int, 1000)
    replay_ttl: float = _key(positive_number, 600.0)
    send_timeout: float = _key(positive_number, 10.0)
    channels: Mapping[str, Any] = field(
        default_factory=dict, metadata={"rule": channel_policy}
    )

    @functools.cached_property
    def rate(self) -> Rate:
        """``CONNECT_RATE``, parsed."""
        return parse_rate(self.connect_rate)

    @property
    def slot_ttl(self) -> float:
        """Seconds a slot outlives its last renewal: a dead worker's slots are free after this."""
        return self.heartbeat * SLOT_TTL_BEATS


#: The setting's keys, in the documented order, to their fields.
KEYS = {f.name.upper(): f for f in dataclasses.fields(RealtimeConfig)}


class Problem(NamedTuple):
    """What is wrong with the setting at ``key`` (``None``: the whole value); ``option``: a known key's value."""

    key: object
    problem: str
    option: bool = False


def parse(value: object) -> tuple[RealtimeConfig, list[Problem]]:
    """The config ``value`` gives, each invalid key at its default, and every problem found."""
    if not isinstance(value, Mapping):
        return RealtimeConfig(), [Problem(None, f"must be a dict, not {kind(value)}")]
    options: dict[str, Any] = {}
    problems = []
    for key, option in value.items():
        found = KEYS.get(key) if isinstance(key, str) else None
        if found is None:
            unknown = "is not a realtime option" + suggest(str(key), list(KEYS))
            problems.append(Problem(key, unknown))
        elif invalid := found.metadata["rule"](option):
            problems.append(Problem(key, invalid, option=True))
        else:
            options[found.name] = (
                float(option) if isinstance(found.default, float) else option
            )
    return RealtimeConfig(**options), problems


def where(problem: Problem) -> str:
    """The setting, or its key, that ``problem`` is about: ``STABILITY_REALTIME['HEARTBEAT']``."""
    name = Settings.realtime.setting_name
    return name if problem.key is None else f"{name}[{show(problem.key)}]"


@cached_on_settings
def realtime_config() -> RealtimeConfig:
    """``STABILITY_REALTIME`` as the realtime code reads it: an invalid key keeps its default."""
    config, problems = parse(conf.realtime)
    for problem in problems:
        logger.warning(
            "%s %s; realtime uses the default (see manage.py check)",
            where(problem),
            problem.problem,
        )
    return config
