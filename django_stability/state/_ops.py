"""Operations: one atomic step on shared state, written twice (Lua and Python)."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from typing import Any, Generic, TypeVar, overload

from django_stability.state._memory import LocalFunction

R = TypeVar("R")

#: What an operation may take as an argument; sent to Redis as text.
Arg = str | int | float


class Operation(Generic[R]):
    """One atomic step on shared state, as a Lua script plus its Python twin.

    Args:
        name: Short identifier used in log lines and errors.
        lua: The Redis script. It must touch only the keys passed in ``KEYS``
            (never build key names itself) and read time only from ``ARGV``.
        local: The same logic in Python, ``local(store, keys, args)``, run
            under the in-process store's lock. ``args`` are strings, exactly
            like ``ARGV``.
        decode: Turns the reply (after Redis' Lua conversion rules) into the
            value callers get; applied identically for both backends. Without
            it callers get the raw reply.
        fallback: Whether the engine may run ``local`` on process-local state
            while Redis is unreachable (the default). With ``False`` the
            engine raises :class:`~django_stability.state.StateUnavailable`
            instead: for state that is wrong when it is not shared, such as
            the realtime replay log. In memory mode (no Redis configured)
            ``local`` always runs.

    .. versionadded:: 0.1
    """

    __slots__ = ("decode", "fallback", "local", "lua", "name", "sha")

    @overload
    def __init__(
        self: Operation[Any],
        name: str,
        lua: str,
        local: LocalFunction,
        *,
        fallback: bool = True,
    ) -> None: ...

    @overload
    def __init__(
        self,
        name: str,
        lua: str,
        local: LocalFunction,
        decode: Callable[[Any], R],
        *,
        fallback: bool = True,
    ) -> None: ...

    def __init__(
        self,
        name: str,
        lua: str,
        local: LocalFunction,
        decode: Callable[[Any], Any] | None = None,
        *,
        fallback: bool = True,
    ) -> None:
        self.name = name
        self.fallback = fallback
        self.lua = lua
        self.local = local
        self.decode: Callable[[Any], R] = decode or _raw
        # EVALSHA needs the script's SHA1; computing it once here means the
        # hot path never hashes and Redis never receives the source twice.
        self.sha = hashlib.sha1(lua.encode(), usedforsecurity=False).hexdigest()

    def __repr__(self) -> str:
        return f"<Operation {self.name} {self.sha[:8]}>"


def _raw(reply: Any) -> Any:
    return reply


def encode_args(args: Sequence[Arg]) -> list[str]:
    """Encode arguments the way redis-py would, rejecting what it rejects."""
    if isinstance(args, str | bytes):
        raise TypeError("args must be a sequence of arguments, not a single string")
    encoded = []
    for arg in args:
        kind = type(arg)
        if kind is str:
            encoded.append(arg)
        elif kind is int:
            encoded.append(str(arg))
        elif kind is float:
            encoded.append(repr(arg))
        else:
            raise TypeError(
                f"operation arguments must be str, int or float, not {kind.__name__}"
            )
    return encoded  # type: ignore[return-value]


def check_keys(keys: Sequence[str]) -> list[str]:
    """Return ``keys`` as a list of non-empty strings, or raise ``TypeError``/``ValueError``."""
    if isinstance(keys, str | bytes):
        raise TypeError("keys must be a sequence of key names, not a single string")
    checked = list(keys)
    for key in checked:
        if type(key) is not str:
            raise TypeError(f"keys must be str, not {type(key).__name__}")
        if not key:
            raise ValueError("keys must not be empty")
    return checked
