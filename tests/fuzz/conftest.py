"""One example-project server for the whole fuzz module."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.fuzz._server import ExampleServer


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ExampleServer]:
    """The example project, migrated, with its callers made, served until the module ends."""
    started = ExampleServer(tmp_path_factory.mktemp("fuzz"))
    started.prepare()
    started.start()
    try:
        yield started
    finally:
        started.stop()
