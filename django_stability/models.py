"""Models: what must outlive a restart and a Redis flush."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, ClassVar

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Breaker(models.Model):
    """An operator's record of a circuit breaker: its forced state, who set it and when.

    The live state lives in the shared-state engine; this row keeps a forced
    state across restarts and a Redis flush, and gives the admin history an
    object to point at. Its permissions ``view_breaker`` and ``change_breaker``
    guard the admin page, the JSON endpoints and nothing else.

    .. versionadded:: 0.1
    """

    class Forced(models.TextChoices):
        OPEN = "open", _("forced open")
        CLOSED = "closed", _("forced closed")

    name = models.CharField(_("name"), max_length=200, primary_key=True)
    forced = models.CharField(
        _("forced state"), max_length=6, choices=Forced.choices, blank=True, default=""
    )
    changed_at = models.DateTimeField(_("changed at"), null=True, blank=True)
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("changed by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        verbose_name = _("circuit breaker")
        verbose_name_plural = _("circuit breakers")
        default_permissions = ("view", "change")

    def __str__(self) -> str:
        return self.name


class DraftQuerySet(models.QuerySet["Draft"]):
    """Drafts, with the expiry test in one place.

    .. versionadded:: 0.1
    """

    def live(self, now: datetime | None = None) -> DraftQuerySet:
        """The drafts that have not expired at ``now`` (default: the current time)."""
        return self.filter(expires_at__gt=now or timezone.now())

    def expired(self, now: datetime | None = None) -> DraftQuerySet:
        """The drafts that have expired at ``now`` (default: the current time)."""
        return self.filter(expires_at__lte=now or timezone.now())


class LiveDraftManager(models.Manager["Draft"]):
    """The default manager: expired drafts are invisible through it even before they are purged."""

    def get_queryset(self) -> DraftQuerySet:
        return DraftQuerySet(self.model, using=self._db).live()


class Draft(models.Model):
    """A user's autosaved form state, under a key of their choosing.

    ``Draft.objects`` shows only live drafts; ``Draft.all_objects`` shows
    every row, for purging and the admin. ``version`` starts at 1 and grows
    by one on every save, which is what optimistic concurrency compares;
    ``size`` is the length of ``data`` encoded as compact UTF-8 JSON; every
    save moves ``expires_at`` to ``STABILITY_DRAFT_TTL`` from then.

    .. versionadded:: 0.1
    """

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("owner"),
        on_delete=models.CASCADE,
        related_name="+",
    )
    key = models.CharField(_("key"), max_length=200)
    data = models.JSONField(_("data"))
    version = models.PositiveIntegerField(_("version"), default=1)
    size = models.PositiveIntegerField(_("size in bytes"), default=0)
    created_at = models.DateTimeField(_("created at"))
    updated_at = models.DateTimeField(_("updated at"))
    expires_at = models.DateTimeField(_("expires at"))

    # Spelled out so type checkers see the querysets' own methods (live, expired).
    objects: ClassVar[LiveDraftManager] = LiveDraftManager()
    all_objects = DraftQuerySet.as_manager()

    if TYPE_CHECKING:
        owner_id: int

    class Meta:
        verbose_name = _("draft")
        verbose_name_plural = _("drafts")
        # The purge and the admin read every row; relations and cascades too.
        base_manager_name = "all_objects"
        constraints = [
            models.UniqueConstraint(
                fields=["owner", "key"], name="django_stability_draft_owner_key"
            )
        ]
        indexes = [
            models.Index(fields=["expires_at"], name="django_stability_draft_exp")
        ]

    def __str__(self) -> str:
        return self.key

    def is_expired(self, now: datetime | None = None) -> bool:
        """Whether this draft had expired at ``now`` (default: the current time)."""
        return self.expires_at <= (now or timezone.now())


__all__ = ["Breaker", "Draft"]
