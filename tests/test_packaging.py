from __future__ import annotations

import os
from pathlib import Path

import django_stability


def test_suite_imports_the_package_it_means_to_test():
    """Under tox the suite runs against the installed wheel, elsewhere against the source tree."""
    location = Path(django_stability.__file__).resolve()
    if os.environ.get("STABILITY_TEST_WHEEL") == "1":
        assert "site-packages" in location.parts
    else:
        assert location.parent.parent == Path(__file__).resolve().parent.parent


def test_package_ships_its_type_marker():
    """Type checkers see django_stability as typed (PEP 561 py.typed marker)."""
    assert (Path(django_stability.__file__).parent / "py.typed").is_file()
