"""Circuit breakers whose state every worker process shares (docs/circuit-breakers.rst)."""

from __future__ import annotations

from django_stability.breakers._actions import act, operate
from django_stability.breakers._breaker import CircuitBreaker
from django_stability.breakers._config import BreakerConfig
from django_stability.breakers._errors import CircuitOpenError
from django_stability.breakers._operator import operator_access, operator_view
from django_stability.breakers._registry import all_breakers, breaker
from django_stability.errors import register_problem

__all__ = [
    "BreakerConfig",
    "CircuitBreaker",
    "CircuitOpenError",
    "act",
    "all_breakers",
    "breaker",
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
