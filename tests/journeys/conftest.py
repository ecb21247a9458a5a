"""The journeys drive the example project in Chromium with the browser tests' fixtures."""

from __future__ import annotations

from tests.browser.conftest import browser, server, sync_playwright

__all__ = ["browser", "server", "sync_playwright"]
