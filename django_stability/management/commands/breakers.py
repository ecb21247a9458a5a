"""``manage.py breakers [list|open|close|reset|release] [NAME]``: breakers from the command line."""

from __future__ import annotations

import json
from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from django_stability.breakers import act, all_breakers, operator_access
from django_stability.breakers._actions import ACTIONS
from django_stability.breakers._registry import is_known
from django_stability.breakers._snapshot import Snapshot
from django_stability.state import get_engine

# What each action did, for the confirmation line.
_DONE = {
    "open": "forced open",
    "close": "forced closed",
    "reset": "reset (counters cleared)",
    "release": "released (no longer forced)",
}
_COLUMNS = ("name", "state", "forced", "failure rate", "calls", "failures", "retry at")


def _row(snapshot: Snapshot) -> tuple[str, ...]:
    rate = snapshot.failure_rate
    return (
        snapshot.name,
        snapshot.state,
        snapshot.forced or "-",
        "-" if rate is None else f"{rate:g}%",
        str(snapshot.calls),
        str(snapshot.failures),
        snapshot.retry_at.isoformat(timespec="seconds") if snapshot.retry_at else "-",
    )


def _table(snapshots: list[Snapshot]) -> str:
    rows = [_COLUMNS, *(_row(snapshot) for snapshot in snapshots)]
    widths = [max(len(row[i]) for row in rows) for i in range(len(_COLUMNS))]
    return "\n".join(
        "  ".join(
            cell.ljust(width) for cell, width in zip(row, widths, strict=True)
        ).rstrip()
        for row in rows
    )


class Command(BaseCommand):
    help = (
        "List circuit breakers with their live state (the default), or apply an "
        "operator action to one: open and close force a state (kept in the "
        "database), reset clears its counters, release ends a forced state. "
        "Works while any breaker, database included, is open or forced open."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument(
            "action",
            nargs="?",
            default="list",
            choices=("list", *ACTIONS),
            help="list (default), or the action to apply to NAME.",
        )
        parser.add_argument(
            "name",
            nargs="?",
            metavar="NAME",
            help="The breaker; required by the actions, optional for list.",
        )
        parser.add_argument(
            "--json",
            action="store_true",
            help='Print breaker JSON ({"breakers": [...]} for list), as the HTTP API does.',
        )

    def handle(self, *args: Any, **options: Any) -> None:
        # An operator's tool: the database breaker never refuses its queries.
        with operator_access():
            self._handle(options)

    def _handle(self, options: dict[str, Any]) -> None:
        action: str = options["action"]
        name: str | None = options["name"]
        if name is not None and not is_known(name):
            known = ", ".join(found.name for found in all_breakers()) or "none"
            raise CommandError(
                f"Unknown breaker {name!r}; known breakers: {known}.", returncode=1
            )
        if action == "list":
            self._list(name, as_json=options["json"])
            return
        if name is None:
            raise CommandError(
                f"'breakers {action}' needs the NAME of a breaker "
                "(see 'manage.py breakers list').",
                returncode=2,
            )
        done = act(name, action, via="command")
        snapshot = done.snapshot
        if get_engine().status().mode == "memory":
            self.stderr.write(
                "STABILITY_REDIS_URL is not set: this command changed its own "
                "process's state and the database only. A running server sees a "
                "forced state at its next start; use the admin page to act on a "
                "running server now."
            )
        if not done.recorded:
            self.stderr.write(
                self.style.WARNING(
                    f"Not recorded in the database ({done.error}): the action took "
                    "effect in the shared state, but a forced state will not be "
                    "restored after a Redis flush. Run the command again once the "
                    "database answers."
                )
            )
        if options["json"]:
            self.stdout.write(
                json.dumps({**snapshot.as_json(), "recorded": done.recorded})
            )
            return
        self.stdout.write(
            self.style.SUCCESS(
                f"Breaker {name!r} {_DONE[action]}; state now {snapshot.state}."
            )
        )

    def _list(self, name: str | None, *, as_json: bool) -> None:
        snapshots = [
            found.snapshot()
            for found in all_breakers()
            if name is None or found.name == name
        ]
        if as_json:
            body = {"breakers": [snapshot.as_json() for snapshot in snapshots]}
            self.stdout.write(json.dumps(body))
        elif snapshots:
            self.stdout.write(_table(snapshots))
        else:
            self.stdout.write(
                "No circuit breakers: configure some in STABILITY_BREAKERS."
            )
