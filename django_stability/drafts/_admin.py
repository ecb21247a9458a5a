"""The drafts' admin: who has which draft, how big, until when; filter the expired, purge them.

Not registered on import: ``register(admin.site)`` (or any other
:class:`~django.contrib.admin.AdminSite`) adds it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from django_stability.drafts._purge import purge_queryset
from django_stability.models import Draft, DraftQuerySet

if TYPE_CHECKING:
    _DraftAdminBase = admin.ModelAdmin[Draft]
else:  # ModelAdmin is generic only in django-stubs, not at runtime
    _DraftAdminBase = admin.ModelAdmin


class ExpiredFilter(admin.SimpleListFilter):
    """ "Expired: yes / no", the drafts that the next purge deletes or keeps."""

    title = _("expired")
    parameter_name = "expired"

    def lookups(
        self, request: HttpRequest, model_admin: admin.ModelAdmin[Any]
    ) -> list[tuple[str, Any]]:
        return [("yes", _("Yes")), ("no", _("No"))]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        assert isinstance(queryset, DraftQuerySet)
        if self.value() == "yes":
            return queryset.expired()
        if self.value() == "no":
            return queryset.live()
        return queryset


class DraftAdmin(_DraftAdminBase):
    """Drafts are read-only here: users write them; operators look, filter and purge."""

    list_display = ["key", "owner", "size", "updated_at", "expires_at", "expired"]
    list_filter = [ExpiredFilter]
    list_select_related = ["owner"]
    ordering = ["-updated_at"]
    date_hierarchy = "updated_at"
    actions = ["purge_expired"]
    readonly_fields = [
        "owner",
        "key",
        "data",
        "version",
        "size",
        "created_at",
        "updated_at",
        "expires_at",
    ]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Draft]:
        # Every row, the expired ones included: the admin is where they can be seen.
        return Draft.all_objects.select_related("owner")

    def get_search_fields(self, request: HttpRequest) -> list[str]:
        # The user model, hence its name field, is a setting (STYLE 16).
        return ["key", f"owner__{get_user_model().USERNAME_FIELD}"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(
        self, request: HttpRequest, obj: Draft | None = None
    ) -> bool:
        return False

    @admin.display(boolean=True, description=_("expired"))
    def expired(self, draft: Draft) -> bool:
        return draft.is_expired()

    @admin.action(
        permissions=["delete"],
        description=_("Purge the selected drafts that have expired"),
    )
    def purge_expired(self, request: HttpRequest, queryset: QuerySet[Draft]) -> None:
        selected = queryset.count()
        result = purge_queryset(queryset)
        kept = selected - result.deleted
        self.message_user(
            request,
            ngettext(
                "Purged %(deleted)d expired draft; %(kept)d live ones kept.",
                "Purged %(deleted)d expired drafts; %(kept)d live ones kept.",
                result.deleted,
            )
            % {"deleted": result.deleted, "kept": kept},
            messages.SUCCESS,
        )


def register(site: admin.AdminSite) -> None:
    """Register :class:`DraftAdmin` for :class:`~django_stability.models.Draft` on ``site``."""
    site.register(Draft, DraftAdmin)
