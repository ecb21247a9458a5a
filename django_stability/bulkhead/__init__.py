"""Bulkheads: a bounded number of calls in progress per dependency (docs/bulkheads.rst)."""

from __future__ import annotations

from django_stability.bulkhead._bulkhead import Bulkhead, BulkheadFull, bulkhead
from django_stability.bulkhead._settings import BulkheadConfig
from django_stability.errors import register_problem

__all__ = ["Bulkhead", "BulkheadConfig", "BulkheadFull", "bulkhead"]

register_problem(
    BulkheadFull,
    status=503,
    code="bulkhead_full",
    detail="Too many requests are using a service this request depends on; retry shortly.",
)
