"""Operator access: the database breaker never stands between an operator and a breaker."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from functools import lru_cache
from typing import Any, TypeVar

from django.urls import Resolver404, get_urlconf, resolve

from django_stability.correlation import request_path as _request_path

V = TypeVar("V", bound=Callable[..., Any])

_operator: ContextVar[bool] = ContextVar("breaker_operator_access", default=False)

# The admin site's own pages an operator passes through on the way to the breakers.
_ADMIN_ENTRY = frozenset({"index", "login", "logout", "jsi18n"})
# Management commands that serve the app's traffic beyond requests: guarded throughout.
_WORKER_COMMANDS = frozenset({"runworker"})


def _command_name(argv: list[str]) -> str | None:
    """The management command this process runs, from its command line, or ``None``."""
    if len(argv) < 2:
        return None
    program = argv[0].replace("\\", "/")
    name = os.path.basename(program)
    if name in ("manage.py", "django-admin", "django-admin.py") or program.endswith(
        "django/__main__.py"
    ):
        return argv[1]
    return None


_command = _command_name(sys.argv)


def outside_requests_unguarded(command: str | None) -> bool:
    """Whether a process running ``command`` lets its non-request work through."""
    return command is not None and command not in _WORKER_COMMANDS


_commands_unguarded = outside_requests_unguarded(_command)


@contextmanager
def operator_access() -> Iterator[None]:
    """Let the database breaker pass every query of this block (or decorated sync function), whatever its state.

    .. versionadded:: 0.1
    """
    token = _operator.set(True)
    try:
        yield
    finally:
        _operator.reset(token)


def operator_view(view: V) -> V:
    """Mark ``view`` (sync or async) as an operator page: the database breaker lets its whole requests through.

    .. versionadded:: 0.1
    """
    view.stability_operator = True  # type: ignore[attr-defined]
    return view


def unguarded() -> bool:
    """Whether the work running now passes the database breaker without asking it (the cheap test)."""
    return _operator.get() or (_commands_unguarded and _request_path.get() is None)


def operator_request() -> bool:
    """Whether the request being served now is for an operator page (asked only when the breaker refuses)."""
    path = _request_path.get()
    return path is not None and _is_operator_path(path, get_urlconf())


@lru_cache(maxsize=512)
def _is_operator_path(path: str, urlconf: str | None) -> bool:
    try:
        match = resolve(path, urlconf)
    except Resolver404:
        return False
    func = match.func
    if getattr(func, "stability_operator", False):
        return True
    model_admin = getattr(func, "model_admin", None)
    if model_admin is not None:
        from django_stability.models import Breaker

        return getattr(model_admin, "model", None) is Breaker
    site = getattr(func, "admin_site", None) or getattr(func, "__self__", None)
    if site is None or match.url_name not in _ADMIN_ENTRY:
        return False
    from django.contrib.admin.sites import AdminSite

    return isinstance(site, AdminSite)
