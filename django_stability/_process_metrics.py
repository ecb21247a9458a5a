"""Per-process memory and CPU that survive ``PROMETHEUS_MULTIPROC_DIR``."""

from __future__ import annotations

import dataclasses
import os
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from django.core.signals import request_finished

from django_stability import metrics

#: Seconds between two refreshes of one process from its own activity.
INTERVAL = 5.0
#: cgroup v1 reports "no limit" as the largest page-aligned signed 64-bit number;
#: anything from 2**62 up is no limit a container would set.
_V1_UNLIMITED = 1 << 62


@dataclasses.dataclass(frozen=True)
class Usage:
    """What a process uses: resident memory in bytes, user plus system CPU in seconds."""

    rss_bytes: int
    cpu_seconds: float


def read_usage(proc: Path = Path("/proc/self")) -> Usage | None:
    """This process's usage from ``/proc`` (Linux), else from ``resource``; ``None`` where neither exists.

    Without ``/proc`` the memory is the peak resident size ``getrusage`` knows,
    not the current one.
    """
    try:
        stat = (proc / "stat").read_text()
        # The command name (field 2) may hold spaces and parentheses: split after its last ")".
        fields = stat[stat.rindex(")") + 2 :].split()
        utime, stime, rss_pages = int(fields[11]), int(fields[12]), int(fields[21])
    except (OSError, ValueError, IndexError):  # no /proc, or not Linux's format
        return _from_resource()
    ticks = os.sysconf("SC_CLK_TCK")
    return Usage(rss_pages * os.sysconf("SC_PAGE_SIZE"), (utime + stime) / ticks)


def _from_resource() -> Usage | None:
    try:
        import resource
    except ImportError:  # pragma: no cover - Windows, where the tests do not run
        return None
    usage = resource.getrusage(resource.RUSAGE_SELF)
    # ru_maxrss is in kilobytes, except on macOS where it is in bytes.
    scale = 1 if sys.platform == "darwin" else 1024
    return Usage(usage.ru_maxrss * scale, usage.ru_utime + usage.ru_stime)


def memory_limit(
    cgroup: Path = Path("/proc/self/cgroup"), mount: Path = Path("/sys/fs/cgroup")
) -> int | None:
    """The memory limit of this process's cgroup in bytes, ``None`` when unlimited or unknown.

    cgroup v2 ``memory.max`` first, else v1 ``memory.limit_in_bytes``; the
    lowest limit of the cgroup and of its ancestors visible under ``mount``
    (a container usually sees its own cgroup as the root).
    """
    try:
        lines = cgroup.read_text().splitlines()
    except OSError:
        return None
    v2, v1 = None, None
    for line in lines:
        parts = line.split(":", 2)
        if len(parts) != 3:
            continue  # not a "hierarchy:controllers:path" line
        _, controllers, path = parts
        if controllers == "":
            v2 = path
        elif "memory" in controllers.split(","):
            v1 = (controllers, path)
    if v2 is not None:
        found = _lowest(mount, v2, "memory.max")
        if found is not None:
            return found
    if v1 is not None:
        return _lowest(mount / v1[0], v1[1], "memory.limit_in_bytes")
    return None


def _lowest(root: Path, path: str, name: str) -> int | None:
    """The lowest limit in the ``name`` files from ``root/path`` up to ``root``; ``None`` if none is set."""
    directory = root / path.lstrip("/")
    if not directory.is_dir():
        directory = root  # a cgroup namespace: the mount shows this cgroup as its root
    limits = []
    while True:
        try:
            text = (directory / name).read_text().strip()
        except OSError:
            text = ""  # not there ("max" is no number either): no limit at this level
        if text.isdigit() and int(text) < _V1_UNLIMITED:
            limits.append(int(text))
        if directory == root:
            break
        directory = directory.parent
    return min(limits) if limits else None


class ProcessMetrics:
    """Writes this process's usage to the ``stability_process_*`` metrics.

    Args:
        clock: Monotonic seconds, for the throttle (tests inject a fake one).
        interval: Least seconds between two refreshes by :meth:`maybe_refresh`.
        limit: Reads the memory limit (:func:`memory_limit` by default).

    .. versionadded:: 0.2
    """

    def __init__(
        self,
        *,
        clock: Callable[[], float] = time.monotonic,
        interval: float = INTERVAL,
        limit: Callable[[], int | None] = memory_limit,
    ) -> None:
        self._clock = clock
        self.interval = interval
        self._limit = limit
        self._forked()
        if hasattr(os, "register_at_fork"):
            os.register_at_fork(after_in_child=self._forked)

    def _forked(self) -> None:
        # A new process: its CPU time starts at 0, and a lock held at fork stays held.
        self._lock = threading.Lock()
        self._cpu = 0.0
        self._due: float | None = None

    def refresh(self) -> None:
        """Write the usage now (the scraping process, just before it answers)."""
        with self._lock:
            self._write()

    def maybe_refresh(self) -> None:
        """Write the usage unless this process did less than ``interval`` seconds ago."""
        due = self._due
        if due is not None and self._clock() < due:
            return
        # Another thread refreshing now has nothing to add: skip rather than wait.
        if self._lock.acquire(blocking=False):
            try:
                self._write()
            finally:
                self._lock.release()

    def _write(self) -> None:
        self._due = self._clock() + self.interval
        usage = read_usage()
        if usage is not None:
            metrics.process_resident_memory.set(usage.rss_bytes)
            if usage.cpu_seconds > self._cpu:
                metrics.process_cpu_seconds.inc(usage.cpu_seconds - self._cpu)
                self._cpu = usage.cpu_seconds
        limit = self._limit()
        if limit is not None:
            metrics.process_memory_limit.set(limit)


#: This process's writer, refreshed by the metrics view and by activity.
process_metrics = ProcessMetrics()


def _on_request_finished(**kwargs: Any) -> None:
    process_metrics.maybe_refresh()


def connect() -> None:
    """Refresh from this process's own requests (``AppConfig.ready``; importing connects too)."""
    request_finished.connect(
        _on_request_finished, dispatch_uid="django_stability.process_metrics"
    )


connect()
