from __future__ import annotations

from django.apps import AppConfig


class DjangoStabilityConfig(AppConfig):
    name = "django_stability"
    verbose_name = "Stability"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django_stability import _process_metrics, checks
        from django_stability.breakers import _checks as _breaker_checks  # noqa: F401
        from django_stability.breakers.integrations import _database
        from django_stability.bulkhead import _checks as _bulkhead_checks  # noqa: F401
        from django_stability.deadline import _checks as _deadline_checks  # noqa: F401
        from django_stability.drafts import _checks as _draft_checks  # noqa: F401
        from django_stability.health import _checks as _health_checks  # noqa: F401
        from django_stability.ratelimit import _checks as _ratelimit_checks  # noqa: F401
        from django_stability.realtime import _checks as _realtime_checks  # noqa: F401
        from django_stability.retry import _checks as _retry_checks  # noqa: F401

        # The capabilities keep the checks of their settings: importing their
        # _checks modules (above) added them to the registry that
        # register_all() hands to Django.
        checks.register_all()
        # A "database" / "database:<alias>" breaker in STABILITY_BREAKERS is
        # the opt-in: guard those aliases from the first query on.
        _database.install_configured()
        # Every worker refreshes its memory and CPU gauges from its own requests,
        # whether or not the project mounts the probes or the metrics view.
        _process_metrics.connect()
