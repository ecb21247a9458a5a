"""Read a Prometheus text exposition back into sample values."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families


def samples(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """``{(sample name, labels): value}`` for every sample of ``text``."""
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(text: str, name: str, **labels: str) -> float:
    """The value of one sample (0.0 when absent, as Prometheus would treat a new series)."""
    return samples(text).get((name, frozenset(labels.items())), 0.0)
