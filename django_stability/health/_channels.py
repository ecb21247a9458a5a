"""The channel layer check, with a layer of its own per event loop (the ``[channels]`` extra)."""

from __future__ import annotations

import asyncio
import dataclasses
import uuid
import weakref
from typing import Any, ClassVar

from health_check.base import HealthCheck
from health_check.exceptions import ServiceReturnedUnexpectedResult, ServiceUnavailable

from django_stability.health._described import Described, describe
from django_stability.runtime import runtime


@dataclasses.dataclass
class ChannelLayer(Described, HealthCheck):
    """Send a message to a new channel of a Channels layer and receive it back.

    The round trip uses a layer of the check's own, one per event loop; a
    layer whose round trip failed is closed and built again on the next run.

    Args:
        alias: The ``CHANNEL_LAYERS`` alias.

    .. versionadded:: 0.1
    """

    alias: str = "default"
    probe_name: ClassVar[str] = "channel_layer"

    async def run(self) -> None:
        layer = _own_layer(self.alias)
        token = uuid.uuid4().hex
        try:
            channel = await layer.new_channel("stability.health.")
            await layer.send(channel, {"type": "stability.health", "token": token})
            message = await layer.receive(channel)
        except BaseException as exc:  # Redis errors, full channels, the timeout...
            # Whatever the layer kept of a receive cut short goes with it.
            _forget_layer(self.alias, layer)
            if not isinstance(exc, Exception):
                raise
            raise ServiceUnavailable(describe(exc)) from exc
        if message.get("token") != token:
            raise ServiceReturnedUnexpectedResult("received another message")
        self.detail = f"send and receive on {type(layer).__name__}"


# The check's own layer per event loop and alias, never the process-wide one of
# get_channel_layer(): channels-redis lets only one event loop at a time
# receive() on a layer, and the server's consumers receive on theirs on the
# main loop, all the time.
_layers: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, Any]] = (
    weakref.WeakKeyDictionary()
)
_closing: set[asyncio.Task[Any]] = set()
_CLOSE_SECONDS = 5.0


def _own_layer(alias: str) -> Any:
    """This loop's layer for ``alias``, built on first use like ``get_channel_layer`` builds one."""
    try:
        from channels.layers import channel_layers
    except ImportError as exc:
        raise ServiceUnavailable(
            "channels is not installed (the [channels] extra)"
        ) from exc
    layers = _layers.setdefault(asyncio.get_running_loop(), {})
    if alias in layers:
        return layers[alias]
    if alias not in channel_layers.configs:
        raise ServiceUnavailable(f"CHANNEL_LAYERS has no {alias!r} layer")
    try:
        layer = channel_layers.make_backend(alias)
    except Exception as exc:  # a misconfigured backend fails at construction
        raise ServiceUnavailable(describe(exc)) from exc
    layers[alias] = layer
    return layer


def _forget_layer(alias: str, layer: Any) -> None:
    """Drop a layer that failed; the next run builds a new one. Its connections close in the background."""
    layers = _layers.get(asyncio.get_running_loop(), {})
    if layers.get(alias) is layer:
        del layers[alias]
    close = getattr(layer, "close_pools", None)
    if close is None:
        return

    async def closed() -> None:
        try:
            async with asyncio.timeout(_CLOSE_SECONDS):
                await close()
        except Exception:  # a dead or hung Redis: the sockets go with the process
            pass

    task = asyncio.get_running_loop().create_task(closed())
    _closing.add(task)
    task.add_done_callback(_closing.discard)


@runtime.on_reset
def _forget_layers() -> None:
    # Another CHANNEL_LAYERS: build from it (the old ones close with their loops).
    _layers.clear()
