"""What the throwaway servers do at startup when a test asks for graceful shutdown."""

from __future__ import annotations

import os
from typing import Any


def announce_shutdown() -> None:
    """Print a line to the server's log when ``shutdown_started`` is sent."""
    from django_stability.signals import shutdown_started

    def announce(sender: Any, **kwargs: Any) -> None:
        print(f"shutdown_started drain_seconds={kwargs['drain_seconds']}", flush=True)

    shutdown_started.connect(announce, weak=False)


def maybe_install() -> None:
    """With ``STABILITY_TEST_SIGTERM`` set, install the handler at import (WSGI servers)."""
    if not os.environ.get("STABILITY_TEST_SIGTERM"):
        return
    from django_stability.health import install_sigterm_handler

    announce_shutdown()
    install_sigterm_handler()
