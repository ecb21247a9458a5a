"""The browser tests' fixtures (a real runserver of the example project, headless Chromium), re-exported."""

from __future__ import annotations

from tests.browser.conftest import browser, server, sync_playwright

__all__ = ["browser", "server", "sync_playwright"]
