"""One breaker object per name and process, configured from ``STABILITY_BREAKERS``."""

from __future__ import annotations

import re
import threading

from django_stability.breakers._breaker import CircuitBreaker
from django_stability.breakers._config import BreakerConfig
from django_stability.conf import conf
from django_stability.runtime import runtime

_lock = threading.Lock()

# "." and ".." excluded: no URL of the breaker endpoints can carry them.
_NAME = re.compile(r"(?!\.\.?\Z)[A-Za-z0-9._:-]{1,200}")


def valid_name(name: object) -> bool:
    """Whether ``name`` can name a breaker: 1-200 characters of ``[A-Za-z0-9._:-]``, not ``.`` or ``..``."""
    return isinstance(name, str) and _NAME.fullmatch(name) is not None


def config_for(name: str) -> BreakerConfig:
    """The options of breaker ``name``: its ``STABILITY_BREAKERS`` entry, or the defaults."""
    return BreakerConfig.from_options(name, conf.breakers.get(name, {}))


def breaker(name: str) -> CircuitBreaker:
    """The process's breaker called ``name``, created on first use.

    Use it as a decorator (``@breaker("payments")``), a context manager
    (``with breaker("payments"):`` / ``async with``), or read
    ``breaker("payments").state``. Options come from ``STABILITY_BREAKERS``
    and follow its changes.

    Raises:
        ValueError: ``name`` is not 1-200 characters of ``[A-Za-z0-9._:-]``,
            or is ``.`` or ``..`` (which no URL of the breaker endpoints can carry).

    .. versionadded:: 0.1
    """
    registry = _registry()
    found = registry.get(name)
    if found is not None:
        return found
    if not valid_name(name):
        raise ValueError(
            "breaker names are 1-200 characters of [A-Za-z0-9._:-], "
            f'other than "." and "..", not {name!r}'
        )
    with _lock:
        return registry.setdefault(name, CircuitBreaker(name, load_config=config_for))


def all_breakers() -> list[CircuitBreaker]:
    """Every breaker of ``STABILITY_BREAKERS`` and every other one this process has used, by name.

    .. versionadded:: 0.1
    """
    names = set(conf.breakers) | set(_registry())
    return [breaker(name) for name in sorted(names)]


def is_known(name: str) -> bool:
    """Whether ``name`` is configured or was used by this process."""
    return name in conf.breakers or name in _registry()


def _registry() -> dict[str, CircuitBreaker]:
    """The breakers by name, kept across settings changes (``runtime.reset(everything=True)`` forgets them)."""
    return runtime.get("breakers", dict, keep=True)


@runtime.on_reset
def _forget_configs() -> None:
    for found in list(_registry().values()):
        found.invalidate()
