"""Helpers for the problem-details tests."""

from __future__ import annotations

import json
from typing import Any

BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"


def body(response: Any) -> dict[str, Any]:
    """The problem details of ``response``, checking its content type."""
    assert response["Content-Type"] == "application/problem+json"
    result: dict[str, Any] = json.loads(response.content)
    return result
