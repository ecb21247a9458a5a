from __future__ import annotations

from django.apps import AppConfig


class DjangoStabilityConfig(AppConfig):
    name = "django_stability"
    verbose_name = "Stability"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django_stability import checks

        checks.register_all()
