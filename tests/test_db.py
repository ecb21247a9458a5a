"""database_from_env(): DATABASE_URL + DB_* variables -> a DATABASES entry."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.db import OperationalError
from django.db.utils import ConnectionHandler

from django_stability.db import POOL_DEFAULTS, database_from_env
from tests import services

if TYPE_CHECKING:
    from django.db.backends.postgresql.base import DatabaseWrapper as PostgresWrapper

# ConnectionHandler insists on a "default" alias; the entries under test get their own.
DUMMY_DEFAULT = {"ENGINE": "django.db.backends.dummy"}
PG = "postgres://app:s%40cr%3At@db.example.com:6543/my%20db"


def test_default_is_sqlite_file_in_cwd(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without DATABASE_URL the app uses db.sqlite3 in the working directory, as an absolute path."""
    monkeypatch.chdir(tmp_path)
    entry = database_from_env({})
    assert entry == {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": str(tmp_path.resolve() / "db.sqlite3"),
    }


def test_empty_database_url_means_default(tmp_path: Path) -> None:
    """An empty DATABASE_URL (docker-compose `DATABASE_URL=`) falls back to the SQLite default."""
    assert database_from_env({"DATABASE_URL": "  "}, base_dir=tmp_path)["NAME"] == str(
        tmp_path.resolve() / "db.sqlite3"
    )


def test_reads_process_environment_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    """Called without arguments it reads os.environ."""
    monkeypatch.setenv("DATABASE_URL", "sqlite://:memory:")
    assert database_from_env()["NAME"] == ":memory:"


def test_sqlite_relative_path_uses_base_dir(tmp_path: Path) -> None:
    """sqlite:///relative resolves against base_dir, not wherever the process happens to run."""
    entry = database_from_env(
        {"DATABASE_URL": "sqlite:///data/app%20one.sqlite3"}, base_dir=tmp_path
    )
    assert entry["NAME"] == str(tmp_path.resolve() / "data" / "app one.sqlite3")


def test_sqlite_absolute_path() -> None:
    """sqlite:////absolute keeps the absolute path."""
    assert (
        database_from_env({"DATABASE_URL": "sqlite:////srv/app/db.sqlite3"})["NAME"]
        == "/srv/app/db.sqlite3"
    )


@pytest.mark.parametrize(
    "url", ["sqlite://:memory:", "sqlite:///:memory:", "sqlite://", "SQLITE://:memory:"]
)
def test_sqlite_in_memory(url: str) -> None:
    """The in-memory spellings all give an in-memory SQLite database."""
    assert database_from_env({"DATABASE_URL": url}) == {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": ":memory:",
    }


def test_sqlite_with_host_is_rejected() -> None:
    """sqlite://host/path (one slash too few) is an error rather than a surprising file name."""
    with pytest.raises(ImproperlyConfigured, match="DATABASE_URL"):
        database_from_env({"DATABASE_URL": "sqlite://db.sqlite3"})


def test_postgres_url_is_percent_decoded() -> None:
    """User, password, host and database name are percent-decoded; the port stays a string."""
    entry = database_from_env({"DATABASE_URL": PG})
    assert entry["ENGINE"] == "django.db.backends.postgresql"
    assert (entry["NAME"], entry["USER"], entry["PASSWORD"]) == (
        "my db",
        "app",
        "s@cr:t",
    )
    assert (entry["HOST"], entry["PORT"]) == ("db.example.com", "6543")


def test_postgresql_scheme_and_defaults() -> None:
    """postgresql:// is accepted; without a port or password those stay empty for libpq's defaults."""
    entry = database_from_env({"DATABASE_URL": "postgresql://postgres@127.0.0.1/test"})
    assert (entry["USER"], entry["PASSWORD"], entry["HOST"], entry["PORT"]) == (
        "postgres",
        "",
        "127.0.0.1",
        "",
    )


def test_postgres_ipv6_and_unix_socket_hosts() -> None:
    """A bracketed IPv6 host and a percent-encoded socket directory are both understood."""
    v6 = database_from_env({"DATABASE_URL": "postgres://u@[::1]:5433/d"})
    sock = database_from_env(
        {"DATABASE_URL": "postgres://u@%2Fvar%2Frun%2Fpostgresql/d"}
    )
    assert (v6["HOST"], v6["PORT"]) == ("::1", "5433")
    assert sock["HOST"] == "/var/run/postgresql"


def test_query_parameters_become_options() -> None:
    """?sslmode=... and other libpq parameters land in OPTIONS."""
    entry = database_from_env(
        {"DATABASE_URL": PG + "?sslmode=verify-full&application_name=web%201"}
    )
    assert entry["OPTIONS"]["sslmode"] == "verify-full"
    assert entry["OPTIONS"]["application_name"] == "web 1"


def test_pool_on_by_default_for_postgres() -> None:
    """PostgreSQL gets the psycopg pool with the documented defaults and CONN_MAX_AGE 0."""
    entry = database_from_env({"DATABASE_URL": PG})
    assert entry["OPTIONS"]["pool"] == dict(POOL_DEFAULTS)
    assert entry["CONN_MAX_AGE"] == 0
    assert entry["CONN_HEALTH_CHECKS"] is True
    assert entry["OPTIONS"]["connect_timeout"] == 5
    assert "options" not in entry["OPTIONS"]


def test_pool_variables() -> None:
    """DB_POOL_* set the pool sizes and timeouts; fractional seconds are allowed for the timeouts."""
    env = {
        "DATABASE_URL": PG,
        "DB_POOL_MIN": "1",
        "DB_POOL_MAX": "4",
        "DB_POOL_TIMEOUT": "2.5",
        "DB_POOL_MAX_IDLE": "60",
        "DB_CONNECT_TIMEOUT": "3",
    }
    entry = database_from_env(env)
    assert entry["OPTIONS"]["pool"] == {
        "min_size": 1,
        "max_size": 4,
        "timeout": 2.5,
        "max_idle": 60.0,
    }
    assert entry["OPTIONS"]["connect_timeout"] == 3


def test_small_pool_max_lowers_default_min() -> None:
    """DB_POOL_MAX=1 alone gives a one-connection pool instead of a min > max error."""
    pool = database_from_env({"DATABASE_URL": PG, "DB_POOL_MAX": "1"})["OPTIONS"][
        "pool"
    ]
    assert (pool["min_size"], pool["max_size"]) == (1, 1)


def test_pool_max_zero_disables_pool() -> None:
    """DB_POOL_MAX=0 turns pooling off (e.g. behind PgBouncer); DB_POOL_MIN is then ignored."""
    entry = database_from_env(
        {"DATABASE_URL": PG, "DB_POOL_MAX": "0", "DB_POOL_MIN": "5"}
    )
    assert "pool" not in entry["OPTIONS"]
    assert entry["CONN_MAX_AGE"] == 0


def test_sqlite_ignores_pool_variables(tmp_path: Path) -> None:
    """Valid DB_* variables have no effect on SQLite."""
    entry = database_from_env(
        {"DB_POOL_MAX": "3", "DB_STATEMENT_TIMEOUT": "100"}, base_dir=tmp_path
    )
    assert set(entry) == {"ENGINE", "NAME"}


def test_statement_timeout_is_a_server_option() -> None:
    """DB_STATEMENT_TIMEOUT (ms) is sent as -c statement_timeout, after any options from the URL."""
    alone = database_from_env({"DATABASE_URL": PG, "DB_STATEMENT_TIMEOUT": "1500"})
    merged = database_from_env(
        {
            "DATABASE_URL": PG + "?options=-c%20search_path%3Dapp",
            "DB_STATEMENT_TIMEOUT": "0",
        }
    )
    assert alone["OPTIONS"]["options"] == "-c statement_timeout=1500"
    assert merged["OPTIONS"]["options"] == "-c search_path=app -c statement_timeout=0"


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("DB_POOL_MIN", "two"),
        ("DB_POOL_MIN", "1.5"),
        ("DB_POOL_MIN", "-1"),
        ("DB_POOL_MAX", "ten"),
        ("DB_POOL_MAX", "-3"),
        ("DB_POOL_TIMEOUT", "soon"),
        ("DB_POOL_TIMEOUT", "0"),
        ("DB_POOL_TIMEOUT", "nan"),
        ("DB_POOL_TIMEOUT", "inf"),
        ("DB_POOL_MAX_IDLE", "-5"),
        ("DB_CONNECT_TIMEOUT", "5s"),
        ("DB_STATEMENT_TIMEOUT", "1e3"),
        ("DB_STATEMENT_TIMEOUT", "-1"),
    ],
)
def test_bad_numbers_name_the_variable(name: str, value: str) -> None:
    """A non-numeric, fractional (where whole), negative or non-finite value is an error naming the variable."""
    with pytest.raises(ImproperlyConfigured, match=name):
        database_from_env({"DATABASE_URL": PG, name: value})


def test_bad_numbers_are_rejected_for_sqlite_too() -> None:
    """A typo in DB_* fails on SQLite too, not only after switching to PostgreSQL."""
    with pytest.raises(ImproperlyConfigured, match="DB_POOL_MAX"):
        database_from_env({"DATABASE_URL": "sqlite://:memory:", "DB_POOL_MAX": "lots"})


def test_pool_min_above_max() -> None:
    """DB_POOL_MIN greater than DB_POOL_MAX is an error naming both."""
    with pytest.raises(
        ImproperlyConfigured,
        match=r"DB_POOL_MIN \(5\) must not exceed DB_POOL_MAX \(3\)",
    ):
        database_from_env({"DATABASE_URL": PG, "DB_POOL_MIN": "5", "DB_POOL_MAX": "3"})


@pytest.mark.parametrize(
    "url", ["mysql://u@h/d", "db.sqlite3", "redis://127.0.0.1:6379/0", "http://x/y"]
)
def test_unknown_scheme(url: str) -> None:
    """A URL that is not SQLite or PostgreSQL is an error naming DATABASE_URL."""
    with pytest.raises(
        ImproperlyConfigured, match="DATABASE_URL has an unsupported scheme"
    ):
        database_from_env({"DATABASE_URL": url})


@pytest.mark.parametrize(
    "url",
    [
        "postgres://u@h:notaport/d",
        "postgres://u@h:0/d",
        "postgres://u@h:70000/d",
        "postgres://u@[::1/d",
        "postgres://u@[::1]x/d",
        "postgres://u@h:5432",
        "postgres://u@h/d?pool=true",
        "postgres://u@h/d?isolation_level=1",
    ],
)
def test_malformed_postgres_urls(url: str) -> None:
    """A bad port, bracket, missing database name or reserved query key is an error naming DATABASE_URL."""
    with pytest.raises(ImproperlyConfigured, match="DATABASE_URL"):
        database_from_env({"DATABASE_URL": url})


def test_errors_never_echo_the_password() -> None:
    """A URL with the host forgotten puts the password where the port goes; the error does not show it."""
    with pytest.raises(ImproperlyConfigured) as info:
        database_from_env({"DATABASE_URL": "postgres://admin:hunter2/db"})
    assert "hunter2" not in str(info.value)


def test_service_without_name_is_allowed() -> None:
    """?service=... (pg_service.conf) may replace the database name."""
    entry = database_from_env({"DATABASE_URL": "postgres:///?service=app"})
    assert (entry["NAME"], entry["OPTIONS"]["service"]) == ("", "app")


def test_django_accepts_the_postgres_entry() -> None:
    """Django's PostgreSQL backend turns the entry into libpq parameters without complaint."""
    handler = ConnectionHandler(
        {
            "default": DUMMY_DEFAULT,
            "env": database_from_env({"DATABASE_URL": PG + "?sslmode=require"}),
        }
    )
    params = handler["env"].get_connection_params()
    assert params["dbname"] == "my db"
    assert (params["user"], params["password"], params["port"]) == (
        "app",
        "s@cr:t",
        "6543",
    )
    assert (params["sslmode"], params["connect_timeout"]) == ("require", 5)
    assert "pool" not in params


def test_sqlite_entry_connects(tmp_path: Path, django_db_blocker: Any) -> None:
    """The default SQLite entry opens a real database file."""
    handler = ConnectionHandler(
        {"default": DUMMY_DEFAULT, "env": database_from_env({}, base_dir=tmp_path)}
    )
    with django_db_blocker.unblock():
        try:
            with handler["env"].cursor() as cursor:
                cursor.execute("SELECT 1")
                assert cursor.fetchone() == (1,)
        finally:
            handler.close_all()
    assert (tmp_path / "db.sqlite3").exists()


@pytest.fixture
def pooled(
    django_db_blocker: Any, request: pytest.FixtureRequest
) -> Iterator[ConnectionHandler]:
    """A separate alias on the real PostgreSQL, pooled with one connection and a short wait.

    The wait is 0.3 s unless the test is parametrised with another (indirect):
    only the exhaustion test is about that wait, and on a loaded machine the
    pool's first connection alone can take longer.
    """
    env = {
        "DATABASE_URL": services.POSTGRES_URL,
        "DB_POOL_MIN": "1",
        "DB_POOL_MAX": "1",
        "DB_POOL_TIMEOUT": getattr(request, "param", "0.3"),
        "DB_STATEMENT_TIMEOUT": "1500",
    }
    handler = ConnectionHandler(
        {"default": DUMMY_DEFAULT, "pooltest": database_from_env(env)}
    )
    with django_db_blocker.unblock():
        try:
            yield handler
        finally:
            handler.close_all()
            cast("PostgresWrapper", handler["pooltest"]).close_pool()


@pytest.mark.postgres
@pytest.mark.parametrize("pooled", ["10"], indirect=True)
def test_postgres_pool_serves_connections(pooled: ConnectionHandler) -> None:
    """Queries run through the psycopg pool, the connection is reused, and the statement timeout is set."""
    first = cast("PostgresWrapper", pooled["pooltest"])
    with first.cursor() as cursor:
        cursor.execute("SHOW statement_timeout")
        assert cursor.fetchone() == ("1500ms",)
        cursor.execute("SELECT pg_backend_pid()")
        (pid,) = cursor.fetchone()
    first.close()  # back into the pool, not closed
    with first.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        assert cursor.fetchone() == (pid,)
    assert first.pool is not None
    assert first.pool.get_stats()["pool_max"] == 1


@pytest.mark.postgres
def test_postgres_pool_exhaustion_fails_fast(pooled: ConnectionHandler) -> None:
    """When every pooled connection is busy, the next one fails after DB_POOL_TIMEOUT instead of hanging."""
    holder = pooled["pooltest"]
    holder.ensure_connection()
    waiter = pooled.create_connection(
        "pooltest"
    )  # same alias: same pool, like another thread
    started = time.monotonic()
    with pytest.raises(OperationalError, match="couldn't get a connection"):
        waiter.ensure_connection()
    assert 0.25 < time.monotonic() - started < 3
