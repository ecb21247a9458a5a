"""Facts about the machine and versions a benchmark ran with, for the report."""

from __future__ import annotations

import datetime
import os
import platform
from importlib import metadata
from pathlib import Path


def _version(dist: str) -> str:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "absent"


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine_facts() -> dict[str, str]:
    cpus = (
        len(os.sched_getaffinity(0))
        if hasattr(os, "sched_getaffinity")
        else os.cpu_count()
    )
    versions = ", ".join(
        f"{name} {_version(name)}"
        for name in ("Django", "structlog", "django-guid", "django-structlog")
    )
    load = (
        " / ".join(f"{x:.2f}" for x in os.getloadavg())
        if hasattr(os, "getloadavg")
        else "n/a"
    )
    return {
        "load": load,
        "date": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": f"{cpus} CPU(s) ({_cpu_model()}), {platform.system()} {platform.release()}",
        "versions": f"Python {platform.python_version()}, {versions}",
    }
