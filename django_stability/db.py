"""Build a ``DATABASES`` entry from the environment (twelve-factor style)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from django.core.exceptions import ImproperlyConfigured

__all__ = ["database_from_env"]

# What a malformed URL is told, whatever is wrong with it: the URL, its password and
# the parser's text (which quotes the URL) never reach an error message or a log.
MALFORMED = (
    "DATABASE_URL is malformed: expected postgres://user:password@host:port/name "
    "or sqlite:///path, with reserved and non-ASCII characters of the user and "
    "password percent-encoded"
)

#: Used when ``DATABASE_URL`` is unset or empty: a SQLite file next to the
#: current working directory (or ``base_dir``).
DEFAULT_DATABASE_URL = "sqlite:///db.sqlite3"

#: Pool defaults (``DB_POOL_MIN``, ``DB_POOL_MAX``, ``DB_POOL_TIMEOUT``,
#: ``DB_POOL_MAX_IDLE``) as psycopg_pool ``ConnectionPool`` keyword arguments.
POOL_DEFAULTS: Mapping[str, float] = {
    "min_size": 2,
    "max_size": 10,
    "timeout": 10.0,
    "max_idle": 300.0,
}

#: ``DB_CONNECT_TIMEOUT`` default, in seconds (libpq itself waits forever).
CONNECT_TIMEOUT_DEFAULT = 5

_POSTGRES_SCHEMES = frozenset({"postgres", "postgresql"})
# OPTIONS keys that Django or psycopg interpret as Python objects, not strings:
# a query-string value for them would be silently misread.
_RESERVED_QUERY_KEYS = frozenset(
    {
        "pool",
        "isolation_level",
        "server_side_binding",
        "prepare_threshold",
        "cursor_factory",
        "context",
        "autocommit",
    }
)


def database_from_env(
    env: Mapping[str, str] = os.environ, *, base_dir: str | Path | None = None
) -> dict[str, Any]:
    """Return a ``DATABASES`` entry described by ``env``.

    Args:
        env: where to read ``DATABASE_URL`` and the ``DB_*`` variables
            (default: the process environment). Empty values count as unset.
        base_dir: directory that relative SQLite paths are resolved against;
            default: the current working directory at call time. The returned
            ``NAME`` is always absolute, so a later ``chdir`` cannot move the
            database.

    Returns:
        A dict for ``DATABASES["default"]`` (or any alias): ``ENGINE``,
        ``NAME``, and for PostgreSQL ``USER``, ``PASSWORD``, ``HOST``, ``PORT``,
        ``CONN_MAX_AGE`` (0: the pool owns connections), ``CONN_HEALTH_CHECKS``
        and ``OPTIONS`` (``pool``, ``connect_timeout``, ``options``, plus the
        URL's query parameters).

    Raises:
        ImproperlyConfigured: an unknown scheme, a malformed URL or port, a
            non-numeric or out-of-range ``DB_*`` value, or
            ``DB_POOL_MIN`` > ``DB_POOL_MAX``; the message names the variable.

    .. versionadded:: 0.1
    """
    url = _get(env, "DATABASE_URL") or DEFAULT_DATABASE_URL
    tuning = _Tuning.from_env(env)
    try:
        parts = urlsplit(url)
    except ValueError:
        # urllib's message quotes the URL's network part, password included: never shown.
        raise ImproperlyConfigured(MALFORMED) from None
    scheme = parts.scheme.lower()
    if scheme == "sqlite":
        return _sqlite(parts.netloc, parts.path, base_dir)
    if scheme in _POSTGRES_SCHEMES:
        return _postgres(parts.netloc, parts.path, parts.query, tuning)
    # Not even the scheme is shown: in "user:secret@host/db" urllib reads "user" as one.
    raise ImproperlyConfigured(
        "DATABASE_URL has an unsupported scheme: use sqlite://, postgres:// or postgresql://"
    )


def _get(env: Mapping[str, str], name: str) -> str | None:
    value = env.get(name, "").strip()
    return value or None


def _number(
    env: Mapping[str, str], name: str, *, minimum: float, integer: bool
) -> float | None:
    raw = _get(env, name)
    if raw is None:
        return None
    kind = "a whole number" if integer else "a number"
    try:
        value = int(raw) if integer else float(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be {kind}, got {raw!r}") from None
    if not value >= minimum:  # also rejects NaN
        raise ImproperlyConfigured(f"{name} must be {kind} >= {minimum:g}, got {raw!r}")
    if value == float("inf"):
        raise ImproperlyConfigured(f"{name} must be finite, got {raw!r}")
    return value


class _Tuning:
    """The validated ``DB_*`` variables."""

    def __init__(
        self,
        pool: dict[str, Any] | None,
        connect_timeout: int,
        statement_timeout: int | None,
    ) -> None:
        self.pool = pool
        self.connect_timeout = connect_timeout
        self.statement_timeout = statement_timeout

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> _Tuning:
        # Every variable is validated even when it has no effect (SQLite, pool off):
        # a typo should not wait for the switch to PostgreSQL to surface.
        max_size = _number(env, "DB_POOL_MAX", minimum=0, integer=True)
        min_size = _number(env, "DB_POOL_MIN", minimum=0, integer=True)
        timeout = _number(env, "DB_POOL_TIMEOUT", minimum=0.001, integer=False)
        max_idle = _number(env, "DB_POOL_MAX_IDLE", minimum=0.001, integer=False)
        connect = _number(env, "DB_CONNECT_TIMEOUT", minimum=0, integer=True)
        statement = _number(env, "DB_STATEMENT_TIMEOUT", minimum=0, integer=True)
        if max_size is None:
            max_size = POOL_DEFAULTS["max_size"]
        pool: dict[str, Any] | None = None
        if max_size:  # DB_POOL_MAX=0 turns pooling off
            if min_size is None:
                min_size = min(POOL_DEFAULTS["min_size"], max_size)
            if min_size > max_size:
                raise ImproperlyConfigured(
                    f"DB_POOL_MIN ({min_size:g}) must not exceed DB_POOL_MAX ({max_size:g})"
                )
            pool = {
                "min_size": int(min_size),
                "max_size": int(max_size),
                "timeout": POOL_DEFAULTS["timeout"] if timeout is None else timeout,
                "max_idle": POOL_DEFAULTS["max_idle"] if max_idle is None else max_idle,
            }
        return cls(
            pool,
            CONNECT_TIMEOUT_DEFAULT if connect is None else int(connect),
            None if statement is None else int(statement),
        )


def _sqlite(netloc: str, path: str, base_dir: str | Path | None) -> dict[str, Any]:
    if netloc == ":memory:" or (not netloc and path in ("", "/:memory:")):
        name = ":memory:"
    elif netloc:
        raise ImproperlyConfigured(
            "DATABASE_URL: a SQLite URL has no host; use sqlite:///relative/path, "
            "sqlite:////absolute/path or sqlite://:memory:"
        )
    else:
        # sqlite:///db.sqlite3 -> path "/db.sqlite3" (relative); sqlite:////srv/db -> "//srv/db".
        relative = unquote(path[1:])
        name = str(Path(base_dir or Path.cwd(), relative).resolve())
    return {"ENGINE": "django.db.backends.sqlite3", "NAME": name}


def _postgres(netloc: str, path: str, query: str, tuning: _Tuning) -> dict[str, Any]:
    userinfo, _, hostport = netloc.rpartition("@")
    user, _, password = userinfo.partition(":")
    host, port = _split_host_port(hostport)
    options: dict[str, Any] = dict(parse_qsl(query, keep_blank_values=True))
    reserved = sorted(_RESERVED_QUERY_KEYS.intersection(options))
    if reserved:
        raise ImproperlyConfigured(
            f"DATABASE_URL: query parameter {reserved[0]!r} cannot be set in the URL "
            "(use the DB_POOL_* variables for the pool, or OPTIONS in settings)"
        )
    name = unquote(path.lstrip("/"))
    if not name and "service" not in options:
        raise ImproperlyConfigured(
            "DATABASE_URL names no database: add /<name> after the host"
        )
    options["connect_timeout"] = tuning.connect_timeout
    if tuning.statement_timeout is not None:
        setting = f"-c statement_timeout={tuning.statement_timeout}"
        options["options"] = (
            f"{options['options']} {setting}" if options.get("options") else setting
        )
    if tuning.pool is not None:
        options["pool"] = dict(tuning.pool)
    return {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": name,
        "USER": unquote(user),
        "PASSWORD": unquote(password),
        "HOST": host,
        "PORT": port,
        # Pooling requires 0; without the pool a connection per request is the safe default.
        "CONN_MAX_AGE": 0,
        # With the pool: check each connection on checkout, so one broken while idle
        # (server restart, failover, a proxy's idle cut) is replaced, not handed to a request.
        "CONN_HEALTH_CHECKS": True,
        "OPTIONS": options,
    }


def _split_host_port(hostport: str) -> tuple[str, str]:
    if hostport.startswith("["):  # [IPv6]:port
        host, _, rest = hostport[1:].partition("]")
        if rest and not rest.startswith(":"):
            raise ImproperlyConfigured("DATABASE_URL: malformed [IPv6] host")
        port = rest[1:]
    else:
        host, _, port = hostport.partition(":")
    if port and not (port.isascii() and port.isdigit() and 0 < int(port) < 65536):
        # The bad value is not echoed: in "postgres://user:secret/db" (host forgotten) it is the password.
        raise ImproperlyConfigured(
            "DATABASE_URL: the port must be a number from 1 to 65535"
        )
    return unquote(host), port
