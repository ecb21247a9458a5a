"""The database breaker: every query and every (re)connection of a database alias goes through it."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.db import DEFAULT_DB_ALIAS, InterfaceError, OperationalError, connections
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.backends.signals import connection_created

from django_stability.breakers import _forced, _operator
from django_stability.breakers._breaker import CircuitBreaker
from django_stability.breakers._errors import CircuitOpenError
from django_stability.breakers.integrations import _guard
from django_stability.conf import conf
from django_stability.errors._database import is_connection_error

_installed: dict[str, str | CircuitBreaker] = {}
_DISPATCH_UID = "django_stability.breakers.integrations.database"


def _default_name(alias: str) -> str:
    return "database" if alias == DEFAULT_DB_ALIAS else f"database:{alias}"


def _target(alias: str) -> CircuitBreaker | None:
    """The breaker guarding ``alias`` now; ``None`` while it is off, or for an operator's work."""
    found = _installed.get(alias)
    # The breaker reads its forced state from the database: that query must
    # not go through the breaker again. Operators are never locked out.
    if found is None or _forced.restoring() or _operator.unguarded():
        return None
    return _guard.resolve(found)


class QueryGuard:
    """The execute wrapper: one query through the alias's breaker."""

    def __init__(self, alias: str) -> None:
        self.alias = alias

    def __call__(
        self,
        execute: Callable[..., Any],
        sql: str,
        params: Any,
        many: bool,
        context: dict[str, Any],
    ) -> Any:
        target = _target(self.alias)
        if target is None:
            return execute(sql, params, many, context)
        try:
            return _guard.Guard(target, is_connection_error).call(
                None, execute, sql, params, many, context
            )
        except CircuitOpenError:
            if _operator.operator_request():
                return execute(sql, params, many, context)
            raise
        except (OperationalError, InterfaceError) as exc:
            if is_connection_error(exc):
                # A dead link fails every later cursor() before the execute
                # wrappers run; dropping it makes the next query reconnect,
                # and so ask the breaker first.
                with contextlib.suppress(Exception):
                    context["connection"].close()
            raise


def _guard_connect(connection: BaseDatabaseWrapper) -> None:
    original = connection.connect

    def connect() -> None:
        target = _target(connection.alias)
        if target is None:
            return original()

        def attempt() -> None:
            # The breaker's first look at its shared record may have read a
            # forced state through this very connection; do not connect twice.
            if connection.connection is not None:
                return
            with connection.wrap_database_errors:
                original()

        try:
            return _guard.Guard(target, is_connection_error).call(None, attempt)
        except CircuitOpenError:
            if _operator.operator_request():
                return attempt()
            raise

    connect.stability_guard = True  # type: ignore[attr-defined]
    connection.connect = connect  # type: ignore[method-assign]


def _install_on(connection: BaseDatabaseWrapper) -> None:
    if not any(isinstance(w, QueryGuard) for w in connection.execute_wrappers):
        connection.execute_wrappers.append(QueryGuard(connection.alias))
    if not getattr(connection.connect, "stability_guard", False):
        _guard_connect(connection)


def _uninstall_from(connection: BaseDatabaseWrapper) -> None:
    connection.execute_wrappers[:] = [
        w for w in connection.execute_wrappers if not isinstance(w, QueryGuard)
    ]
    if getattr(connection.connect, "stability_guard", False):
        del connection.connect  # the class's method again


def _on_connection_created(
    sender: object, connection: BaseDatabaseWrapper, **kwargs: Any
) -> None:
    if connection.alias in _installed:
        _install_on(connection)


def _hook_handler() -> None:
    """Guard each connection object Django creates, before its first connect."""
    if "create_connection" in vars(connections):
        return
    original = connections.create_connection

    def create_connection(alias: str) -> BaseDatabaseWrapper:
        connection = original(alias)
        if alias in _installed:
            _install_on(connection)
        return connection

    connections.create_connection = create_connection  # type: ignore[method-assign]


def install_database_breaker(
    alias: str = DEFAULT_DB_ALIAS, breaker: str | CircuitBreaker | None = None
) -> None:
    """Send every query and connection attempt of database ``alias`` through a breaker.

    Connection errors count as failures (see :func:`is_connection_error`);
    while the breaker is open, queries raise :class:`CircuitOpenError`,
    which the ``ProblemDetailsMiddleware`` answers with a 503 and
    ``Retry-After``. Calling it again for the same alias replaces the breaker.

    Args:
        alias: A key of ``DATABASES``.
        breaker: A breaker name (``STABILITY_BREAKERS`` options apply) or
            object; ``"database"`` for the default alias and
            ``"database:<alias>"`` for the others when ``None``.

    Raises:
        ImproperlyConfigured: ``alias`` is not in ``DATABASES``.

    .. versionadded:: 0.1
    """
    if alias not in connections:
        raise ImproperlyConfigured(
            f"install_database_breaker(): no database alias {alias!r} in DATABASES"
        )
    _installed[alias] = breaker if breaker is not None else _default_name(alias)
    connection_created.connect(_on_connection_created, dispatch_uid=_DISPATCH_UID)
    _hook_handler()
    for connection in connections.all(initialized_only=True):
        if connection.alias == alias:
            _install_on(connection)


def uninstall_database_breaker(alias: str = DEFAULT_DB_ALIAS) -> None:
    """Stop guarding ``alias`` (connections of other threads pass queries straight through).

    .. versionadded:: 0.1
    """
    _installed.pop(alias, None)
    for connection in connections.all(initialized_only=True):
        if connection.alias == alias:
            _uninstall_from(connection)
    if not _installed:
        connection_created.disconnect(dispatch_uid=_DISPATCH_UID)
        vars(connections).pop("create_connection", None)


def install_configured() -> list[str]:
    """Guard each alias named by a ``database`` / ``database:<alias>`` breaker of ``STABILITY_BREAKERS``.

    Called from ``AppConfig.ready()``; aliases missing from ``DATABASES`` are
    left to the system checks. Returns the aliases now guarded.
    """
    guarded = []
    for name in conf.breakers:
        if name == "database":
            alias = DEFAULT_DB_ALIAS
        elif name.startswith("database:"):
            alias = name.partition(":")[2]
        else:
            continue
        if alias in connections:
            install_database_breaker(alias, name)
            guarded.append(alias)
    return guarded
