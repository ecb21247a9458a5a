"""What django-stability's checks add to a ``HealthCheck``: a probe name, a detail, bounded messages."""

from __future__ import annotations

from typing import ClassVar

MAX_MESSAGE = 200


def describe(exc: BaseException) -> str:
    """``"Type: first line of the message"``, bounded, for a check's detail."""
    first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    text = f"{type(exc).__name__}: {first}" if first else type(exc).__name__
    return text[:MAX_MESSAGE]


class Described:
    """What our checks add to ``HealthCheck``: a probe name and a success detail."""

    #: The key of this check in probe JSON (``"database"``; ``"database:replica"``).
    probe_name: ClassVar[str] = ""
    #: Set by ``run()`` on success: what the check saw.
    detail: str = ""

    def key(self) -> str:
        alias = getattr(self, "alias", "default")
        return self.probe_name if alias == "default" else f"{self.probe_name}:{alias}"
