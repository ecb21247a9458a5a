"""A test-only URLconf with an admin site on which the drafts admin is registered."""

from __future__ import annotations

from django.contrib.admin import AdminSite
from django.urls import path

from django_stability.drafts._admin import register

site = AdminSite(name="drafts_admin")
register(site)

urlpatterns = [path("admin/", site.urls)]
