"""Sphinx configuration; the version comes from pyproject.toml."""

from __future__ import annotations

import tomllib
from pathlib import Path

_pyproject = tomllib.loads(
    (Path(__file__).parent.parent / "pyproject.toml").read_text()
)

project = "django-stability"
author = "django-stability team"
copyright = "2026, the django-stability team"
release = _pyproject["project"]["version"]
version = release

extensions = ["myst_parser"]
source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
exclude_patterns = ["_build", "_includes"]
html_theme = "furo"
html_title = f"django-stability {release}"
myst_heading_anchors = 3
nitpicky = True
