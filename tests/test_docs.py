"""The reference pages stay in step with the code: every check ID and every setting documented."""

from __future__ import annotations

import re
from pathlib import Path

from django_stability.checks._codes import Codes
from django_stability.conf import Settings

DOCS = Path(__file__).resolve().parent.parent / "docs"

# A section title followed by its underline (any of the characters reST uses for it).
_HEADING = r"^(?P<title>{title})\n(?P<underline>[=\-~^\"'`#*+]+)$"


def headings(page: str, title: str) -> list[str]:
    """The titles of ``page`` matching ``title``, where the underline is at least as long as the title."""
    text = (DOCS / page).read_text(encoding="utf-8")
    pattern = re.compile(_HEADING.format(title=title), re.MULTILINE)
    found = []
    for match in pattern.finditer(text):
        assert len(match["underline"]) >= len(match["title"]), (
            f"short underline under {match['title']}"
        )
        found.append(match["title"])
    return found


def test_every_check_id_is_documented_and_every_documented_id_exists():
    """docs/checks.rst has one entry per check ID in the code, in order, and no other."""
    documented = headings("checks.rst", r"django_stability\.[EW]\d{3}")
    assert documented == sorted(
        documented, key=lambda i: (i.split(".")[1][0] != "E", i)
    )
    assert len(documented) == len(set(documented))
    assert sorted(documented) == sorted(code.id for code in Codes)


def test_every_setting_has_a_typed_heading_and_every_heading_is_a_setting():
    """docs/settings.rst has one ``STABILITY_X: type`` heading per setting of conf, in the same order."""
    titles = headings("settings.rst", r"``STABILITY_[A-Z_]+: [^`]+``")
    names = [title.strip("`").split(":")[0] for title in titles]
    assert names == Settings.setting_names()


def test_check_ids_named_in_the_settings_page_exist():
    """Every check ID the settings page points to is a real one."""
    text = (DOCS / "settings.rst").read_text(encoding="utf-8")
    referenced = set(re.findall(r"django_stability\.[EW]\d{3}", text))
    assert referenced
    assert referenced <= {code.id for code in Codes}


def test_every_setting_check_is_listed_under_its_setting():
    """Each check ID about one setting is listed in that setting's section; only project-wide ones are not."""
    text = (DOCS / "settings.rst").read_text(encoding="utf-8")
    sections = dict(
        re.findall(
            r"^``(STABILITY_[A-Z_]+): .*?``\n-+\n(.*?)(?=^\.\. _|\Z)",
            text,
            re.MULTILINE | re.DOTALL,
        )
    )
    listed = {
        code
        for code in Codes
        if any(f":ref:`{code.id}`" in body for body in sections.values())
    }
    project_wide = {
        Codes.CONN_MAX_AGE_ASGI,
        Codes.UNKNOWN_SETTING,
        Codes.REMOVED_SETTING,
        Codes.MIDDLEWARE_ORDER,
        Codes.DB_POOL_WORKERS,
        Codes.CHANNEL_LAYER_IN_MEMORY,
        Codes.RATELIMIT_CACHE_LOCAL,
    }
    assert set(Codes) - listed == project_wide
