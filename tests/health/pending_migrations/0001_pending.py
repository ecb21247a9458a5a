"""A migration no test database has applied: the migrations check must report it."""

from __future__ import annotations

from django.db import migrations


class Migration(migrations.Migration):
    pass
