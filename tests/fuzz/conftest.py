"""One example-project server, on its own PostgreSQL database, for the whole fuzz module."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import psycopg
import pytest
from psycopg import sql

from tests import services
from tests.fuzz._server import ExampleServer


@pytest.fixture(scope="module")
def database_url() -> Iterator[str]:
    """A throwaway PostgreSQL database for the example project, dropped afterwards."""
    name = f"stability_fuzz_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(services.POSTGRES_URL, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield f"{services.POSTGRES_URL.rsplit('/', 1)[0]}/{name}"
    finally:
        with psycopg.connect(services.POSTGRES_URL, autocommit=True) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                    sql.Identifier(name)
                )
            )


@pytest.fixture(scope="module")
def server(
    tmp_path_factory: pytest.TempPathFactory, database_url: str
) -> Iterator[ExampleServer]:
    """The example project, migrated, with its callers made, served until the module ends."""
    started = ExampleServer(tmp_path_factory.mktemp("fuzz"), database_url)
    started.prepare()
    started.start()
    try:
        yield started
    finally:
        started.stop()
