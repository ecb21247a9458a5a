"""Probe requests log at DEBUG, also when the URLconf mounts the health views elsewhere."""

from __future__ import annotations

import pytest
from django.test import override_settings

from tests.http_modes import MODES, fetch
from tests.logcapture import capture_logs


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("path", ["/ops/health/live", "/ops/health/"])
@override_settings(ROOT_URLCONF="tests.health.urls_elsewhere")
async def test_probes_mounted_elsewhere_log_at_debug(mode: str, path: str) -> None:
    """Under ops/ the health views are still recognised as probes by their URL names."""
    with capture_logs(level="DEBUG") as logs:
        await fetch(mode, "get", path)
    assert logs.one("request", path=path)["level"] == "debug"


@pytest.mark.parametrize("mode", MODES)
@override_settings(ROOT_URLCONF="tests.health.urls_elsewhere")
async def test_other_views_mounted_elsewhere_keep_their_level(mode: str) -> None:
    """The version view under ops/ is not a probe: it logs at INFO."""
    with capture_logs(level="DEBUG") as logs:
        await fetch(mode, "get", "/ops/version")
    assert logs.one("request", path="/ops/version")["level"] == "info"
