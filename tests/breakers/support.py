"""Calls through a breaker in each of its six styles, for the breaker tests."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from django_stability.breakers import CircuitBreaker


class Boom(Exception):
    """The protected dependency failed."""


class Declined(Exception):
    """An error the protected code expects (excluded from the failure count)."""


class Api:
    """Calls through a breaker as a decorator, a context manager or ``call``, sync or async."""

    def __init__(self, style: str) -> None:
        self.style = style
        self.asynchronous = style.startswith("async")

    async def __call__(self, b: CircuitBreaker, fn: Any = None, *args: Any) -> Any:
        fn = fn or (lambda: "ok")
        if self.style == "decorator":
            return b(fn)(*args)
        if self.style == "with":
            with b:
                return fn(*args)
        if self.style == "call":
            return b.call(fn, *args)

        async def afn(*a: Any) -> Any:
            result = fn(*a)
            return await result if asyncio.iscoroutine(result) else result

        if self.style == "async-decorator":
            return await b(afn)(*args)
        if self.style == "async-with":
            async with b:
                return await afn(*args)
        return await b.acall(afn, *args)


STYLES = ["decorator", "with", "call", "async-decorator", "async-with", "async-call"]


def raiser(exc: BaseException) -> Any:
    def fn(*args: Any) -> Any:
        raise exc

    return fn


async def fail(
    api: Api, b: CircuitBreaker, n: int = 1, exc: type[Exception] = Boom
) -> None:
    for _ in range(n):
        with pytest.raises(exc):
            await api(b, raiser(exc()))


async def state(api: Api, b: CircuitBreaker) -> str:
    return await b.astate() if api.asynchronous else b.state
