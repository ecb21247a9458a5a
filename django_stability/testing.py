"""Helpers for your own test suite: force circuit breakers into a state for a test."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from contextvars import ContextVar
from typing import Any, Literal, TypeVar, cast

from django_stability.breakers import all_breakers, breaker
from django_stability.breakers._forced import no_restore

__all__ = ["force_breaker", "reset_breakers"]

F = TypeVar("F", bound=Callable[..., Any])

# The operator action that forces each state, and the one that puts a forced state back.
_FORCE = {"open": "open", "closed": "close"}
_AGAIN = {"open": "open", "closed": "close", None: "release"}


class force_breaker:  # lower case: used like a function, as contextlib's helpers are
    """Force breaker ``name`` open or closed while a block, test or coroutine runs (see the testing docs).

    A context manager (``with`` / ``async with``) or a decorator of a sync or
    async function; on the way out the breaker gets back its earlier forced
    state, or is released. Only the shared state changes.

    Args:
        name: The breaker's name; it need not be in ``STABILITY_BREAKERS``.
        state: ``"open"`` or ``"closed"``.

    Raises:
        ValueError: an unknown ``state`` or an invalid breaker name.

    .. versionadded:: 0.1
    """

    def __init__(self, name: str, state: Literal["open", "closed"]) -> None:
        if state not in _FORCE:
            raise ValueError(
                f"force_breaker() forces 'open' or 'closed', not {state!r}"
            )
        self.name = name
        self.state = state
        self._breaker = breaker(name)  # validates the name now, not in the test
        self._before: ContextVar[tuple[str | None, ...]] = ContextVar(
            f"force_breaker:{name}", default=()
        )

    # Context managers --------------------------------------------------------

    def _pushed(self, before: str | None) -> force_breaker:
        self._before.set((*self._before.get(), before))
        return self

    def _popped(self) -> str:
        *rest, before = self._before.get()
        self._before.set(tuple(rest))
        return _AGAIN[before]

    def __enter__(self) -> force_breaker:
        with no_restore():
            before = self._breaker.snapshot().forced
            self._breaker.command(_FORCE[self.state])
        return self._pushed(before)

    def __exit__(self, *exc_info: object) -> None:
        with no_restore():
            self._breaker.command(self._popped())

    async def __aenter__(self) -> force_breaker:
        with no_restore():
            before = (await self._breaker.asnapshot()).forced
            await self._breaker.acommand(_FORCE[self.state])
        return self._pushed(before)

    async def __aexit__(self, *exc_info: object) -> None:
        with no_restore():
            await self._breaker.acommand(self._popped())

    # Decorator ---------------------------------------------------------------

    def __call__(self, func: F) -> F:
        """Decorate a sync or async function: the breaker is forced while it runs."""
        if inspect.iscoroutinefunction(func):

            @functools.wraps(func)
            async def aforced(*args: Any, **kwargs: Any) -> Any:
                async with self:
                    return await func(*args, **kwargs)

            return cast(F, aforced)

        @functools.wraps(func)
        def forced(*args: Any, **kwargs: Any) -> Any:
            with self:
                return func(*args, **kwargs)

        return cast(F, forced)


def reset_breakers() -> None:
    """Release and reset every breaker (configured or used): closed, fresh counters, nothing forced.

    .. versionadded:: 0.1
    """
    with no_restore():
        for found in all_breakers():
            found.command("release")
