"""Models: what must outlive a restart and a Redis flush."""

from __future__ import annotations

from django.conf import settings
from django.db import models
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
