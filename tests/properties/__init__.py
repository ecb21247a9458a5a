"""Hypothesis properties of the pure parts: parsers, validators, matchers."""

from __future__ import annotations

from hypothesis import settings

#: Deterministic in CI (the same examples every run), with no per-example deadline
#: on a loaded machine.
PROPERTY = settings(deadline=None, derandomize=True, max_examples=300)
