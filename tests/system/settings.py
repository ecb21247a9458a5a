"""The example project's settings, plus the soak's own realtime channel.

The soak's subscribers follow ``soak`` (its broadcaster's events carry a
counter the checks read), which the example does not declare: channels are
denied by default.
"""

from __future__ import annotations

from example_project.settings import *  # noqa: F403

STABILITY_REALTIME = {"CHANNELS": {"notes": "authenticated", "soak": "authenticated"}}
