"""What every check ID is built on: its templates, the message it makes, and the removed settings E025 names."""

from __future__ import annotations

from typing import Any, NamedTuple

from django.core.checks import CheckMessage, Error, Warning

CHANGELOG = "the changelog (docs/changelog.rst, 'Changelog' in the documentation)"


class Removed(NamedTuple):
    """A setting that an earlier release knew, and what to do instead."""

    version: str
    advice: str


# Setting name -> Removed(version, advice). A removed or renamed setting stays
# here for at least two minor releases so that upgrading projects get E025
# instead of their setting being silently ignored (STYLE 21).
REMOVED_SETTINGS: dict[str, Removed] = {}


class CheckCode:
    """One check ID with its message and hint templates (the members of ``Codes``)."""

    def __init__(self, code: str, template: str, hint: str) -> None:
        self.code = code
        self.template = template
        self.hint = hint

    @property
    def id(self) -> str:
        """The full ID, such as ``django_stability.E001``."""
        return f"django_stability.{self.code}"

    def msg(self, obj: str, **fields: Any) -> CheckMessage:
        """The Error or Warning for this code, ``obj`` being the setting concerned."""
        fields.setdefault("where", obj)
        level = Error if self.code.startswith("E") else Warning
        return level(
            self.template.format(**fields),
            hint=self.hint.format(**fields, changelog=CHANGELOG),
            obj=obj,
            id=self.id,
        )
