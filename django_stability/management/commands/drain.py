"""``manage.py drain [on|off|status]``: take every worker out of (or back into) rotation."""

from __future__ import annotations

import datetime
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from django_stability.health._drain import DrainState, drain_state, set_drain
from django_stability.state import StateUnavailable, get_engine

#: Exit status when there is no shared-state engine to reach the workers.
NO_ENGINE = 2
#: Exit status when Redis does not answer.
UNREACHABLE = 3


class Command(BaseCommand):
    help = (
        "Turn the shared drain flag on or off, or show it: while it is on, every "
        "worker's GET stability/health/ready answers 503 'draining'. Needs STABILITY_REDIS_URL."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "action", nargs="?", choices=["on", "off", "status"], default="status"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        engine = get_engine()
        if engine.mode == "memory":
            raise CommandError(
                "STABILITY_REDIS_URL is not set: the drain flag would only reach this "
                "process, not the workers",
                returncode=NO_ENGINE,
            )
        try:
            engine.ping()
        except StateUnavailable as exc:
            raise CommandError(
                f"Redis does not answer, the drain flag was not changed: {exc}",
                returncode=UNREACHABLE,
            ) from exc
        action = options["action"]
        state = (
            drain_state(engine)
            if action == "status"
            else set_drain(action == "on", engine=engine)
        )
        if not engine.healthy:  # Redis went away between the PING and the change
            raise CommandError(
                "Redis stopped answering, the drain flag may not have changed",
                returncode=UNREACHABLE,
            )
        self.stdout.write(self._describe(state))

    def _describe(self, state: DrainState) -> str:
        if not state.on:
            return self.style.SUCCESS("drain: off (workers report ready)")
        since = (
            ""
            if state.since is None
            else " since "
            + datetime.datetime.fromtimestamp(state.since, datetime.UTC).isoformat(
                timespec="seconds"
            )
        )
        by = "" if state.by is None else f" by {state.by}"
        return self.style.WARNING(f"drain: on{since}{by} (workers report 503 draining)")
