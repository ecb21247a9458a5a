"""Breaker names of a test's own: breakers are process-global, so tests must not share them."""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Iterator, Mapping
from typing import Any

from django_stability.breakers import breaker

_serial = itertools.count()

#: Each operator action with the breaker state, forced state and persisted
#: ``Breaker.forced`` it leaves: the admin, the HTTP API and the command agree.
OUTCOMES = [
    ("open", "open", "open", "open"),
    ("close", "closed", "closed", "closed"),
    ("reset", "closed", None, ""),
    ("release", "closed", None, ""),
]


def fresh(prefix: str) -> str:
    """A breaker name no other test uses."""
    return f"{prefix}-{next(_serial)}-{uuid.uuid4().hex[:8]}"


def configured(settings: Any, prefix: str, options: Mapping[str, Any]) -> Iterator[str]:
    """For a fixture: a fresh breaker configured with ``options``, released afterwards."""
    found = fresh(prefix)
    settings.STABILITY_BREAKERS = {found: dict(options)}
    yield found
    breaker(found).command("release")
