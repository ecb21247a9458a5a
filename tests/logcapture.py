"""Read what :func:`django_stability.logging.configure` really writes.

The logging tests configure the real pipeline with a :class:`io.StringIO` as
its stream and parse the lines back, so they check the output a log shipper
would see, not a mocked logger.
"""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django_stability.logging import configure


class LogCapture:
    """The lines written since the capture started."""

    def __init__(self, stream: io.StringIO) -> None:
        self.stream = stream

    @property
    def text(self) -> str:
        return self.stream.getvalue()

    def lines(self) -> list[dict[str, Any]]:
        """Every line, parsed: each must be one JSON object."""
        return [json.loads(line) for line in self.text.splitlines() if line]

    def events(self, event: str, **fields: Any) -> list[dict[str, Any]]:
        """The lines whose ``event`` is ``event`` and which have all of ``fields``."""
        return [
            line
            for line in self.lines()
            if line.get("event") == event
            and all(line.get(k) == v for k, v in fields.items())
        ]

    def one(self, event: str, **fields: Any) -> dict[str, Any]:
        """The single line matching ``event`` and ``fields`` (fails when 0 or several)."""
        found = self.events(event, **fields)
        assert len(found) == 1, f"{len(found)} {event!r} lines in:\n{self.text}"
        return found[0]


@contextmanager
def capture_logs(*, json: bool = True, level: str = "DEBUG") -> Iterator[LogCapture]:
    """Configure logging into a string buffer; undo the root logger changes afterwards."""
    root = logging.getLogger()
    saved_level = root.level
    stream = io.StringIO()
    handler = configure(json=json, level=level, stream=stream)
    try:
        yield LogCapture(stream)
    finally:
        root.removeHandler(handler)
        root.setLevel(saved_level)
