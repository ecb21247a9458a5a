from __future__ import annotations

from django.apps import AppConfig


class DjangoStabilityConfig(AppConfig):
    name = "django_stability"
    verbose_name = "Stability"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django_stability import checks
        from django_stability.breakers.integrations import _database

        checks.register_all()
        # A "database" / "database:<alias>" breaker in STABILITY_BREAKERS is
        # the opt-in: guard those aliases from the first query on.
        _database.install_configured()
