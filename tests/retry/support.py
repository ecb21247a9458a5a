"""A dependency that fails on cue, and retried calls in each of the six styles."""

from __future__ import annotations

from typing import Any

from prometheus_client import REGISTRY

from django_stability.retry import Retry

OUTCOMES = (
    "retried",
    "recovered",
    "exhausted",
    "budget_exhausted",
    "breaker_open",
    "in_transaction",
)


class Dependency:
    """Counts its calls; raises ``error`` on the first ``failures`` of them (all, when ``None``)."""

    def __init__(
        self, error: BaseException | None = None, failures: int | None = None
    ) -> None:
        self.error = error if error is not None else ConnectionError("down")
        self.failures = failures
        self.calls = 0

    def __call__(self, *args: Any) -> str:
        self.calls += 1
        if self.failures is None or self.calls <= self.failures:
            raise self.error
        return "ok"

    async def acall(self, *args: Any) -> str:
        return self(*args)


class Style:
    """Calls a dependency through a ``Retry`` as a decorator, a loop or ``call``, sync or async."""

    def __init__(self, style: str) -> None:
        self.style = style

    async def __call__(self, retrying: Retry, dependency: Any) -> Any:
        if self.style == "decorator":
            return retrying(dependency)()
        if self.style == "loop":
            for attempt in retrying:
                with attempt:
                    return dependency()
        if self.style == "call":
            return retrying.call(dependency)
        if self.style == "async-decorator":
            return await retrying(dependency.acall)()
        if self.style == "async-loop":
            async for attempt in retrying:
                with attempt:
                    return await dependency.acall()
        return await retrying.acall(dependency.acall)


STYLES = ["decorator", "loop", "call", "async-decorator", "async-loop", "async-call"]


def outcomes(name: str) -> dict[str, float]:
    """``stability_retries_total`` of ``name`` by outcome, the zeros left out."""
    found = {
        outcome: REGISTRY.get_sample_value(
            "stability_retries_total", {"name": name, "outcome": outcome}
        )
        for outcome in OUTCOMES
    }
    return {outcome: value for outcome, value in found.items() if value}
