"""The "Circuit breakers" admin page: every breaker's live state, and the operator actions."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from django.contrib import admin, messages
from django.contrib.admin.utils import display_for_value
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.text import capfirst
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from django_stability.breakers import act, all_breakers
from django_stability.breakers._actions import ACTIONS
from django_stability.breakers._registry import is_known, valid_name
from django_stability.breakers._snapshot import Snapshot
from django_stability.breakers.integrations._guards import guarded_by
from django_stability.drafts._admin import register as register_drafts
from django_stability.models import Breaker
from django_stability.state import get_engine

# The snapshot's fields shown as columns, with their headings.
_COLUMNS = {
    "name": gettext_lazy("name"),
    "state": gettext_lazy("state"),
    "forced": gettext_lazy("forced state"),
    "failure_rate": gettext_lazy("failure rate (%)"),
    "calls": gettext_lazy("calls"),
    "failures": gettext_lazy("failures"),
    "slow_calls": gettext_lazy("slow calls"),
    "opened_at": gettext_lazy("opened at"),
    "retry_at": gettext_lazy("retry at"),
}
_BUTTONS = {
    "open": gettext_lazy("Force open"),
    "close": gettext_lazy("Force close"),
    "reset": gettext_lazy("Reset"),
    "release": gettext_lazy("Release"),
}
_DONE = {
    "open": gettext_lazy(
        "Circuit breaker “%(name)s” forced open. To undo it, press Release, or run "
        "“manage.py breakers release %(name)s”."
    ),
    "close": gettext_lazy("Circuit breaker “%(name)s” forced closed."),
    "reset": gettext_lazy("Circuit breaker “%(name)s” reset: counters cleared."),
    "release": gettext_lazy("Circuit breaker “%(name)s” released."),
}


if TYPE_CHECKING:
    _ModelAdmin = admin.ModelAdmin[Breaker]
else:  # ModelAdmin is generic for the type checker only (no django-stubs-ext at run time)
    _ModelAdmin = admin.ModelAdmin


@admin.register(Breaker)
class BreakerAdmin(_ModelAdmin):
    """Lists every circuit breaker with its live state and applies operator actions.

    .. versionadded:: 0.1
    """

    change_list_template = "admin/django_stability/breaker/change_list.html"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return (
            False  # breakers come from STABILITY_BREAKERS and the code, not from here
        )

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # a row holds an operator's forced state: release it instead

    def get_list_display(self, request: HttpRequest) -> tuple[str, ...]:
        # The snapshot fields the page shows, in order (the template renders them).
        return tuple(_COLUMNS)

    def get_engine_notice(self) -> str:
        """Where the states shown come from (``STABILITY_REDIS_URL``), for the page's header."""
        status = get_engine().status()
        if status.mode == "memory":
            return _(
                "Shared state is in process memory (STABILITY_REDIS_URL is not set): "
                "this page shows and changes the breakers of this worker process only."
            )
        if status.mode == "degraded":
            return _(
                "Redis is unreachable: this page shows this worker process's local "
                "view, and actions reach the other workers only once Redis answers."
            )
        return _("Shared state: %(url)s, seen by every worker.") % {"url": status.url}

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        # A row changes only through operate(), which keeps the shared state in
        # step: the changelist is where a breaker is seen and operated.
        return HttpResponseRedirect(self._changelist_url())

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        if not self.has_view_or_change_permission(request):
            raise PermissionDenied
        if request.method == "POST":
            return self._act(request)
        can_change = self.has_change_permission(request)
        columns = self.get_list_display(request)
        with_rows = set(Breaker.objects.values_list("name", flat=True))
        rows = [
            self._row(found.snapshot(), columns, found.name in with_rows)
            for found in all_breakers()
        ]
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": capfirst(self.model._meta.verbose_name_plural),
            "subtitle": None,
            "columns": [_COLUMNS[column] for column in columns],
            "rows": rows,
            "can_change": can_change,
            "buttons": list(_BUTTONS.items()),
            "engine_notice": self.get_engine_notice(),
            "empty_help": _(
                "No circuit breakers yet: configure them in STABILITY_BREAKERS."
            ),
            **(extra_context or {}),
        }
        request.current_app = self.admin_site.name
        return TemplateResponse(request, self.change_list_template, context)

    def _row(
        self, snapshot: Snapshot, columns: Sequence[str], has_row: bool
    ) -> dict[str, Any]:
        guards = guarded_by(snapshot.name)
        empty = self.get_empty_value_display()
        history = None
        if has_row:
            history = reverse(
                f"{self.admin_site.name}:django_stability_breaker_history",
                args=[snapshot.name],
            )
        return {
            "name": snapshot.name,
            "state": snapshot.state,
            "cells": [
                display_for_value(getattr(snapshot, column), empty)
                for column in columns
            ],
            "history_url": history,
            "guards": [guarded.description for guarded in guards],
            "critical": any(guarded.critical for guarded in guards),
        }

    def _act(self, request: HttpRequest) -> HttpResponse:
        if not self.has_change_permission(request):
            raise PermissionDenied
        name = request.POST.get("breaker", "")
        action = request.POST.get("action", "")
        if action not in ACTIONS:
            self.message_user(request, _("Unknown action."), messages.ERROR)
        elif not (valid_name(name) and is_known(name)):
            self.message_user(
                request,
                _("There is no circuit breaker called “%(name)s”.") % {"name": name},
                messages.ERROR,
            )
        else:
            guards = guarded_by(name)
            critical = any(guarded.critical for guarded in guards)
            if action == "open" and critical and request.POST.get("confirm") != "yes":
                return self._confirm_open(request, name, guards)
            done = act(name, action, user=request.user, via="admin")
            self.message_user(request, _DONE[action] % {"name": name}, messages.SUCCESS)
            if not done.recorded:
                self.message_user(
                    request,
                    _(
                        "The database could not record this action (%(error)s): it "
                        "took effect for every worker, but it is not in the history "
                        "and a forced state will not survive a Redis flush."
                    )
                    % {"error": done.error},
                    messages.WARNING,
                )
        return HttpResponseRedirect(self._changelist_url())

    def _confirm_open(
        self, request: HttpRequest, name: str, guards: Sequence[Any]
    ) -> HttpResponse:
        """Ask before forcing open a breaker the whole site stands on."""
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": _("Force open “%(name)s”?") % {"name": name},
            "subtitle": None,
            "name": name,
            "guards": [guarded.description for guarded in guards],
            "changelist_url": self._changelist_url(),
        }
        request.current_app = self.admin_site.name
        return TemplateResponse(
            request, "admin/django_stability/breaker/confirm_open.html", context
        )

    def _changelist_url(self) -> str:
        return reverse(f"{self.admin_site.name}:django_stability_breaker_changelist")


register_drafts(admin.site)
