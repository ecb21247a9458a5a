"""``manage.py check_dependencies [--wait SECONDS] [--json]``: exit 0 once dependencies answer."""

from __future__ import annotations

import argparse
import json
import math
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from django_stability.health._dependencies import check_dependencies
from django_stability.health._runner import Report

#: Exit status when a dependency still fails.
NOT_READY = 1


def _seconds(value: str) -> float:
    try:
        seconds = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{value!r} is not a number of seconds"
        ) from None
    if not (math.isfinite(seconds) and seconds >= 0):
        raise argparse.ArgumentTypeError(
            f"{value!r} is not a number of seconds, 0 or more"
        )
    return seconds


class Command(BaseCommand):
    help = (
        "Check the database, migrations, the cache and the other readiness checks; "
        "exit 0 when all pass, 1 naming the failing ones. For container entrypoints."
    )
    requires_system_checks: list[
        str
    ] = []  # a failing dependency must not stop the checks first

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--wait",
            type=_seconds,
            default=0.0,
            metavar="SECONDS",
            help="keep retrying failing checks for this long (default: try once)",
        )
        parser.add_argument("--json", action="store_true", help="print the probe JSON")

    def handle(self, *args: Any, **options: Any) -> None:
        report = check_dependencies(
            options["wait"],
            on_attempt=None if options["json"] else self._retrying,
        )
        if options["json"]:
            self.stdout.write(json.dumps(report.as_json(), indent=2))
        else:
            self._print(report)
        if report.status != "ok":
            names = ", ".join(
                f"{name} ({r.detail})" for name, r in report.failures.items()
            )
            raise CommandError(f"not ready: {names}", returncode=NOT_READY)

    def _print(self, report: Report) -> None:
        for name, result in report.checks.items():
            style = {"ok": self.style.SUCCESS, "warn": self.style.WARNING}.get(
                result.status, self.style.ERROR
            )
            self.stdout.write(
                f"{style(result.status.ljust(4))} {name}: {result.detail} ({result.ms:.1f} ms)"
            )

    def _retrying(self, report: Report) -> None:
        self.stderr.write(f"waiting for: {', '.join(report.failures)}")
