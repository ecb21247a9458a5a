"""The shared-state engine fixtures, for the shared bulkheads: memory and Redis alike."""

from __future__ import annotations

from tests.state.conftest import clock, engine

__all__ = ["clock", "engine"]
