"""Retries on stamina, with a budget every worker shares and an ear for circuit breakers (docs/retries.rst)."""

from __future__ import annotations

from django_stability.retry._attempts import Attempt
from django_stability.retry._database import ReadRetry, retry_reads
from django_stability.retry._retry import Retry, retry
from django_stability.retry._settings import RetryConfig

__all__ = ["Attempt", "ReadRetry", "Retry", "RetryConfig", "retry", "retry_reads"]
