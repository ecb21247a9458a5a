"""Benchmarks of django-stability; ``make bench`` runs them all (``benchmarks/run.py``)."""

from __future__ import annotations
