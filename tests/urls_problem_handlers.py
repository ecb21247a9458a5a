"""The test URLconf with django-stability's error views as the root handlers."""

from __future__ import annotations

from tests.urls import urlpatterns

__all__ = ["handler400", "handler403", "handler404", "handler500", "urlpatterns"]

handler400 = "django_stability.errors.bad_request"
handler403 = "django_stability.errors.permission_denied"
handler404 = "django_stability.errors.page_not_found"
handler500 = "django_stability.errors.server_error"
