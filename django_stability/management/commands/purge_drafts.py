"""``manage.py purge_drafts [--dry-run] [--batch-size N]``: delete expired drafts (run it from cron)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import DEFAULT_DB_ALIAS, DatabaseError

from django_stability.drafts._purge import (
    DEFAULT_BATCH_SIZE,
    count_expired,
    purge_expired,
)


class Command(BaseCommand):
    help = (
        "Delete expired drafts in batches, each in its own short transaction; "
        "safe to run while users save drafts."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="Count the expired drafts and delete nothing.",
        )
        parser.add_argument(
            "--batch-size",
            type=int,
            default=DEFAULT_BATCH_SIZE,
            metavar="N",
            help=f"Drafts deleted per transaction (default {DEFAULT_BATCH_SIZE}).",
        )
        parser.add_argument(
            "--database",
            default=DEFAULT_DB_ALIAS,
            help="The database alias (default: default).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        batch_size: int = options["batch_size"]
        using: str = options["database"]
        if batch_size < 1:
            raise CommandError(
                f"--batch-size must be at least 1, not {batch_size}.", returncode=2
            )
        done = [0]

        def progress(count: int, total: int) -> None:
            done[0] = total
            if options["verbosity"] >= 2:
                self.stdout.write(f"Deleted {count} drafts ({total} so far).")

        try:
            if options["dry_run"]:
                expired = count_expired(using=using)
                self.stdout.write(
                    f"{expired} expired drafts would be deleted (dry run: none was)."
                )
                return
            result = purge_expired(
                batch_size=batch_size, using=using, progress=progress
            )
        except DatabaseError as error:
            raise CommandError(
                f"purge_drafts failed after deleting {done[0]} expired drafts: {error}",
                returncode=1,
            ) from error
        self.stdout.write(
            self.style.SUCCESS(
                f"Deleted {result.deleted} expired drafts in {result.batches} batches."
            )
        )
