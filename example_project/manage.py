#!/usr/bin/env python
"""Django's command-line utility for the example project (run it from this directory)."""

from __future__ import annotations

import os
import sys
from pathlib import Path


def main() -> None:
    # The project is the package ``example_project``: make its parent importable so
    # ``cd example_project && python manage.py ...`` works like running from the repo root.
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "example_project.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
