"""The baseline of the realtime benchmark: a plain Channels consumer in a group, nothing more.

No replay log, no heartbeats, no per-user slots: what a project writes from the
Channels tutorial, so that the cost of everything ``ResilientConsumer`` adds
can be read against it.
"""

from __future__ import annotations

from typing import Any

from channels.generic.websocket import AsyncJsonWebsocketConsumer


class PlainConsumer(AsyncJsonWebsocketConsumer):  # type: ignore[misc]
    """Joins the group named by the URL and forwards every group message to its client."""

    async def connect(self) -> None:
        self.group = "plain." + self.scope["url_route"]["kwargs"]["channel"]
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()

    async def disconnect(self, code: int) -> None:
        await self.channel_layer.group_discard(self.group, self.channel_name)

    async def bench_event(self, message: dict[str, Any]) -> None:
        await self.send_json({"type": "event", "data": message["data"]})
