"""The state package reads top-down: no module imports one that imports it back."""

from __future__ import annotations

from pathlib import Path

import django_stability.state
from tests.breakers.test_imports import cycles, import_graph


def test_no_import_cycle_in_the_state_package():
    """No state module imports, even for type checking only, one that leads back to it."""
    root = Path(django_stability.state.__file__).parent
    assert cycles(import_graph(root, "django_stability.state")) == []
