"""The soak: the example project under load while its dependencies fail (``make soak``)."""

from __future__ import annotations
