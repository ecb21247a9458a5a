"""Circuit breakers whose state every worker process shares.

::

    from django_stability.breakers import breaker, CircuitOpenError

    @breaker("payments")
    def charge(card, amount): ...

    async with breaker("payments"):
        await client.post(...)

See ``docs/circuit-breakers.rst`` for the options, the sharing model and the
integrations (database, cache, email, HTTP) in ``.integrations``.
"""

from __future__ import annotations

from django_stability.breakers._actions import ACTIONS, Action, act, operate
from django_stability.breakers._breaker import CircuitBreaker
from django_stability.breakers._config import BreakerConfig
from django_stability.breakers._errors import CircuitOpenError
from django_stability.breakers._operator import operator_access, operator_view
from django_stability.breakers._registry import (
    all_breakers,
    breaker,
    config_for,
    is_known,
)
from django_stability.breakers._snapshot import Snapshot
from django_stability.breakers._view import STALENESS
from django_stability.errors import register_problem
from django_stability.signals import breaker_state_changed

__all__ = [
    "ACTIONS",
    "STALENESS",
    "Action",
    "BreakerConfig",
    "CircuitBreaker",
    "CircuitOpenError",
    "Snapshot",
    "act",
    "all_breakers",
    "breaker",
    "breaker_state_changed",
    "config_for",
    "is_known",
    "operate",
    "operator_access",
    "operator_view",
]

register_problem(
    CircuitOpenError,
    status=503,
    code="circuit_open",
    detail="A service this request depends on is unavailable right now; retry later.",
)
