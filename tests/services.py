"""Where the test suite finds PostgreSQL and Redis, and whether they answer.

``STABILITY_TEST_POSTGRES_URL`` and ``STABILITY_TEST_REDIS_URL`` point the suite
at other servers. Tests marked ``postgres`` or ``redis`` skip when their server
does not answer, and fail instead when ``STABILITY_REQUIRE_SERVICES=1``.
"""

from __future__ import annotations

import contextlib
import functools
import os
import secrets
import socket
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

POSTGRES_URL = os.environ.get(
    "STABILITY_TEST_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/test"
)
# Database 14 of the machine's Redis is this suite's; tests flush it freely.
REDIS_URL = os.environ.get("STABILITY_TEST_REDIS_URL", "redis://127.0.0.1:6379/14")
REQUIRE = os.environ.get("STABILITY_REQUIRE_SERVICES") == "1"


@functools.cache
def reachable(url: str) -> bool:
    parts = urlsplit(url)
    try:
        with socket.create_connection(
            (parts.hostname or "127.0.0.1", parts.port or 0), timeout=1
        ):
            return True
    except OSError:
        return False


def postgres_up() -> bool:
    return reachable(POSTGRES_URL)


def redis_up() -> bool:
    return reachable(REDIS_URL)


@contextlib.contextmanager
def throwaway_database(prefix: str) -> Iterator[str]:
    """A PostgreSQL database of its own on the suite's server, dropped afterwards; its URL."""
    import psycopg
    from psycopg import sql

    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield f"{POSTGRES_URL.rsplit('/', 1)[0]}/{name}"
    finally:
        with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                    sql.Identifier(name)
                )
            )


ROOT = Path(__file__).resolve().parents[1]


def coverage_env() -> dict[str, str]:
    """What a child process built from a clean environment needs to be measured under ``make test``."""
    return {
        name: os.environ[name]
        for name in ("COVERAGE_PROCESS_CONFIG", "COVERAGE_PROCESS_START")
        if name in os.environ
    }


def migrated_example(
    database_url: str, metrics_dir: Path, **extra: str
) -> dict[str, str]:
    """The environment that runs the example project as in production (DEBUG off, metrics in
    ``metrics_dir``), its database migrated; ``extra`` adds or overrides variables."""
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "DJANGO_SETTINGS_MODULE": "example_project.settings",
        "DEBUG": "0",
        "HTTPS": "0",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": "127.0.0.1",
        "DATABASE_URL": database_url,
        "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir),
        "LOG_LEVEL": "WARNING",
        **extra,
    }
    migrate = subprocess.run(
        [sys.executable, "example_project/manage.py", "migrate", "--noinput"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert migrate.returncode == 0, migrate.stderr
    return env
