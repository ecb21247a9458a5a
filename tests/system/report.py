"""The soak's figures, as Markdown: printed after every run, written to docs/reliability.md on request.

Like the benchmarks, the soak owns only the text between
``<!-- soak:figures:begin -->`` and ``<!-- soak:figures:end -->``; the rest of
the page is written by hand and kept.
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

from tests.system.load import Reset
from tests.system.soak import Result

GRACE = 20.0  # seconds after a fault that still count as "during" it (breaker reset timeout + probe)
BEGIN, END = "<!-- soak:figures:begin -->", "<!-- soak:figures:end -->"


def during_fault(result: Result, t: float) -> bool:
    return any(f.start <= t <= (f.end or f.start) + GRACE for f in result.faults)


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def delivered(result: Result) -> int:
    return sum(len(s.received) for s in result.subscribers)


def figures(result: Result) -> str:
    problems, excused = realtime_problems(result)
    lost = sum(1 for p in problems if "missing" in p)
    calls = result.record.calls
    t0 = min((c.t for c in calls), default=0.0)
    statuses = Counter(c.status for c in calls)
    by_kind: Counter[tuple[str, int]] = Counter((c.kind, c.status) for c in calls)
    lines = [
        f"Last run: {result.started_at}, {result.seconds:.0f} s of load "
        f"({result.wall_seconds:.0f} s with the final replay and checks), "
        f"{len(calls)} requests and handshakes on 3 workers.",
        "",
        "| outcome | requests |",
        "|---|---|",
        *(
            f"| {'no answer (connection refused or reset)' if s == 0 else s} | {n} |"
            for s, n in sorted(statuses.items())
        ),
        "",
        "| request | outcome | count |",
        "|---|---|---|",
        *(
            f"| {k} | {s or 'no answer'} | {n} |"
            for (k, s), n in sorted(by_kind.items())
        ),
        "",
        "| fault | at (UTC) | offset | lasted |",
        "|---|---|---|---|",
        *(
            f"| {f.name} | {f.wall} | {f.start - t0:.1f} s | {f.end - f.start:.1f} s |"
            for f in result.faults
        ),
        "",
    ]
    answered = [c for c in calls if c.status and c.kind.startswith("draft")]
    calm = [c.ms for c in answered if not during_fault(result, c.t)]
    rough = [c.ms for c in answered if during_fault(result, c.t)]
    lines += [
        "| draft requests | answered | p50 | p99 |",
        "|---|---|---|---|",
        f"| outside faults | {len(calm)} | {percentile(calm, 0.5):.1f} ms | {percentile(calm, 0.99):.1f} ms |",
        f"| during faults (+{GRACE:.0f} s) | {len(rough)} | {percentile(rough, 0.5):.1f} ms | {percentile(rough, 0.99):.1f} ms |",
        "",
        f"- Events broadcast and acknowledged: {len(result.broadcasts)} "
        f"({result.broadcast_errors} broadcasts failed while Redis was down, and were never promised).",
        f"- Events delivered to {len(result.subscribers)} subscribers: {delivered(result)} "
        f"over {sum(s.connections for s in result.subscribers)} connections; "
        f"{sum(len(s.resets) for s in result.subscribers)} resets, "
        f"{excused} events covered by a reset after Redis lost its data; "
        f"{lost} subscribers missing acknowledged events.",
        f"- Draft saves acknowledged: {sum(len(v) for v in result.record.acked.values())}; "
        f"lost: {lost_writes(result)}.",
        f"- PostgreSQL client connections at the end: {result.connections} "
        f"(pool bounds for 3 workers: {result.pool_bounds[0]}-{result.pool_bounds[1]}).",
        "- Worker memory (RSS) after warm-up -> at the end: "
        + ", ".join(
            f"worker {w}: {first / 2**20:.0f} -> {last / 2**20:.0f} MiB"
            for w, (first, last) in sorted(memory(result).items())
        )
        + ".",
        "",
        "Reproduce with `make soak`.",
    ]
    return "\n".join(lines)


def memory(result: Result) -> dict[int, tuple[int, int]]:
    """Per worker: RSS after warm-up (after its restart, for the one killed) and at the end."""
    from tests.system.soak import WARMUP

    t0 = min(samples[0][0] for samples in result.rss.values())
    out = {}
    for worker, samples in result.rss.items():
        since = result.restarted.get(worker, t0) + WARMUP
        after = [rss for t, rss in samples if t >= since]
        if len(after) >= 2:
            out[worker] = (after[0], after[-1])
    return out


def lost_writes(result: Result) -> list[str]:
    """Draft saves answered 200 that the stored draft does not hold (or a newer save of)."""
    lost = []
    for key, acked in result.record.acked.items():
        if not acked:
            continue
        versions = [v for v, _ in acked]
        if len(set(versions)) != len(versions) or versions != sorted(versions):
            lost.append(
                f"{key}: versions acknowledged out of order or twice: {versions[:12]}..."
            )
        version, n = acked[-1]
        stored = result.stored.get(key)
        if stored is None:
            lost.append(f"{key}: v{version} acknowledged, nothing stored")
        elif stored[0] < version or (stored[0] == version and stored[1] != n):
            lost.append(
                f"{key}: v{version} (n={n}) acknowledged, v{stored[0]} (n={stored[1]}) stored"
            )
    return lost + result.record.stale_reads


def write(path: Path, body: str) -> None:
    page = path.read_text() if path.exists() else ""
    block = f"{BEGIN}\n{body.strip()}\n{END}"
    pattern = re.compile(re.escape(BEGIN) + r".*?" + re.escape(END), re.DOTALL)
    page = (
        pattern.sub(lambda _: block, page)
        if pattern.search(page)
        else page.rstrip() + "\n\n" + block + "\n"
    )
    path.write_text(page)


def epochs(result: Result) -> list[int]:
    """The first id of each replay log the run saw: a log rebuilt after Redis lost it starts far above."""
    ids = sorted(i for _, i, _ in result.broadcasts)
    return [
        b for a, b in zip([None, *ids], ids, strict=False) if a is None or b - a > 1000
    ]


def realtime_problems(result: Result) -> tuple[list[str], int]:
    """What each subscriber got wrong (duplicates, disorder, gaps, resets), and the events excused.

    A reset is excused only when it crosses from one replay log to the next,
    that is after Redis was killed and restarted without persistence (the
    documented case: the log it resumed from is gone); the acknowledged events
    between the client's last id and the reset's id are then not owed to it.
    A reset to id 0 (a client resuming before the new log's first event: 0
    stands for a log's base) crosses when a new log started after the
    client's last id, and the lost log's events after that id are not owed.
    """
    starts = epochs(result)

    def epoch(event_id: int) -> int:
        return sum(1 for s in starts if s <= event_id)

    def crossed(r: Reset) -> tuple[int, int] | None:
        """The ids a reset excuses, ``(before, upto]``, or ``None`` if it crossed no log."""
        if r.before is None:
            return None
        if r.after == 0:
            later = [s for s in starts if s > r.before]
            return (r.before, later[0] - 1) if later else None
        # A reset names the id the log's events follow on from: a new log's
        # first event is that id + 1 when nothing of it was dropped yet.
        return (r.before, r.after) if epoch(r.after + 1) > epoch(r.before) else None

    problems, excused = [], 0
    acked = sorted(i for _, i, _ in result.broadcasts)
    for s in result.subscribers:
        ids = [i for i, _ in s.received]
        bad = [
            (a, b)
            for a, b in zip(s.received, s.received[1:], strict=False)
            if b[0] <= a[0] or b[1] <= a[1]
        ]
        if bad:
            problems.append(
                f"{s.name}: {len(bad)} events duplicated or out of order, first (id, n) pairs {bad[:2]}"
            )
        gaps: list[tuple[int, int]] = []
        for r in s.resets:
            if (gap := crossed(r)) is None:
                problems.append(
                    f"{s.name}: reset from {r.before} to {r.after} without Redis losing the log"
                )
            else:
                gaps.append(gap)
        got = set(ids)
        owed = [i for i in acked if s.first_id is not None and i > s.first_id]
        covered = [i for i in owed if any(a < i <= b for a, b in gaps)]
        excused += len(covered)
        missing = [i for i in owed if i not in got and i not in covered]
        if missing:
            problems.append(
                f"{s.name}: {len(missing)} of {len(owed)} events missing, first {missing[:3]}"
            )
        if s.first_id is None or s.connections < 2:
            problems.append(
                f"{s.name}: never subscribed twice ({s.connections} connections)"
            )
    return problems, excused
