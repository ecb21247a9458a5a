"""URL patterns whose view is sync under WSGI and async under ASGI."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from django.urls import URLPattern, path
from django.urls.resolvers import ResolverMatch


def _in_event_loop() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


class DualModePattern(URLPattern):
    """A URL pattern resolving to ``async_view`` inside an event loop, else to its sync view."""

    def __init__(
        self, *args: Any, async_view: Callable[..., Any], **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.async_view = async_view

    def resolve(self, path: str) -> ResolverMatch | None:
        match = super().resolve(path)
        if match is not None and _in_event_loop():
            match.func = self.async_view
        return match


def dual_path(
    route: str, view: Callable[..., Any], async_view: Callable[..., Any], *, name: str
) -> DualModePattern:
    """Like ``path(route, view, name=name)``, with ``async_view`` answering under ASGI."""
    pattern = path(route, view, name=name)
    return DualModePattern(
        pattern.pattern,
        pattern.callback,
        pattern.default_args,
        pattern.name,
        async_view=async_view,
    )
