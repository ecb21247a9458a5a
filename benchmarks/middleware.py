"""Microseconds per request that each middleware stack adds, WSGI and ASGI, in one run.

Stacks (``benchmarks._stacks``): no middleware; Django's default
(``startproject``) stack; the default stack + django-stability's five
middleware (the rate limit on the memory engine, never reached; the HTTP
metrics come with the access log); the default stack + django-guid +
django-structlog's ``RequestMiddleware`` + ``ConditionalGetMiddleware`` +
django-prometheus; and each of those pieces alone on top of the default
stack. Each stack lives in its own worker process
with its own settings and logging (JSON at INFO, rendered into a counting
sink). One request at a time, through Django's real WSGI and ASGI handlers, to
a sync view.

Method: after a warm-up batch, rounds repeat until the time budget is spent;
in every round each worker runs one batch per handler, in a rotating order, so
drift (thermal, other load) hits every stack alike. A batch is summarised by
its median request; a stack's overhead is the median over rounds of (its batch
figure - the default stack's batch figure in the same round).

Run: ``python -m benchmarks.middleware [--seconds 100]`` (``make bench`` runs
every benchmark and rewrites ``docs/performance.md``).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from benchmarks._machine import machine_facts
from benchmarks._stacks import STACKS, Stack

ROOT = Path(__file__).resolve().parent.parent
MODES = ("wsgi", "asgi")
BATCH_SECONDS = 0.06  # per batch, per handler: long enough to dwarf timer noise
# Each batch is summarised by its median request: a request that lost its CPU to
# another process (this machine is shared) then does not drag the batch.
STAT = "median"
DETAIL_EVERY = 3  # the "each piece alone" stacks run in one round out of this many
#: (ours, peers, at most this fraction of the peers' overhead, what is compared)
COMPARISONS = (
    (
        "ours",
        "peers",
        0.5,
        "the whole stack, rate limiting and metrics included, against the peers with django-prometheus",
    ),
    (
        "ours_core",
        "peers_core",
        0.25,
        "correlation, access log, cache headers and problems (our HTTP metrics included) against "
        "django-guid + django-structlog + ConditionalGet",
    ),
)


class _Worker:
    def __init__(self, stack: Stack) -> None:
        self.stack = stack
        self.process = subprocess.Popen(
            [sys.executable, "-m", "benchmarks._worker", stack.name],
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        self.batch = dict.fromkeys(MODES, 20)

    def ask(self, command: str) -> Any:
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write(command + "\n")
        self.process.stdin.flush()
        line = self.process.stdout.readline()
        if not line:
            raise RuntimeError(
                f"worker {self.stack.name} died (exit {self.process.wait()})"
            )
        return json.loads(line)

    def calibrate(self) -> None:
        for mode in MODES:
            self.ask(f"{mode} {self.batch[mode]}")  # warm-up, discarded
            per_request = self.ask(f"{mode} {self.batch[mode]}")["mean"]
            self.batch[mode] = max(20, int(BATCH_SECONDS * 1e6 / per_request))

    def close(self) -> None:
        if self.process.poll() is None:
            assert self.process.stdin is not None
            self.process.stdin.write("quit\n")
            self.process.stdin.close()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.process.stdout is not None:
            self.process.stdout.close()


def run(
    seconds: float = 100.0, stacks: list[Stack] | None = None, max_rounds: int = 200
) -> dict[str, Any]:
    """Measure every stack; returns raw samples, medians and the probe reports.

    The main stacks run in every round, the "detail" ones (each piece alone) in
    every ``DETAIL_EVERY``-th round, so the comparison that matters gets most
    of the time budget.
    """
    stacks = stacks or STACKS
    workers = [_Worker(stack) for stack in stacks]
    try:
        probes = {w.stack.name: w.ask("probe") for w in workers}
        for worker in workers:
            worker.calibrate()
        samples: dict[str, dict[str, dict[int, float]]] = {
            w.stack.name: {m: {} for m in MODES} for w in workers
        }
        started = time.monotonic()
        rounds = 0
        while rounds < max_rounds and (
            rounds < 2 * DETAIL_EVERY or time.monotonic() - started < seconds
        ):
            active = [
                w
                for w in workers
                if w.stack.group == "main" or rounds % DETAIL_EVERY == 0
            ]
            shift = rounds % len(active)
            for mode in MODES:
                for worker in active[shift:] + active[:shift]:
                    figures = worker.ask(f"{mode} {worker.batch[mode]}")
                    samples[worker.stack.name][mode][rounds] = figures[STAT]
            rounds += 1
        batches = {w.stack.name: dict(w.batch) for w in workers}
    finally:
        for worker in workers:
            worker.close()
    return {
        "rounds": rounds,
        "seconds": round(time.monotonic() - started, 1),
        "batches": batches,
        "samples": samples,
        "probes": probes,
        "summary": summarize(samples),
    }


def summarize(
    samples: dict[str, dict[str, dict[int, float]]], baseline: str = "django"
) -> dict[str, dict[str, dict[str, float]]]:
    """Per stack and mode: median µs/request, and the median overhead over ``baseline`` paired by round."""
    summary: dict[str, dict[str, dict[str, float]]] = {}
    for name, by_mode in samples.items():
        summary[name] = {}
        for mode, values in by_mode.items():
            base = samples[baseline][mode]
            overheads = [value - base[round_] for round_, value in values.items()]
            q1, _, q3 = (
                statistics.quantiles(overheads, n=4)
                if len(overheads) > 1
                else (0.0, 0.0, 0.0)
            )
            summary[name][mode] = {
                "median_us": statistics.median(values.values()),
                "overhead_us": statistics.median(overheads),
                "overhead_iqr_us": q3 - q1,
                "rounds": len(values),
            }
    return summary


def verdict(
    summary: dict[str, dict[str, dict[str, float]]],
    mode: str,
    ours: str = "ours",
    peers: str = "peers",
    target: float = COMPARISONS[0][2],
) -> tuple[float, bool]:
    """Our overhead as a fraction of the peers' overhead, and whether it meets the target."""
    mine = summary[ours][mode]["overhead_us"]
    theirs = summary[peers][mode]["overhead_us"]
    ratio = mine / theirs if theirs > 0 else float("inf")
    return ratio, ratio <= target


def verdicts(summary: dict[str, dict[str, dict[str, float]]]) -> bool:
    """Whether every comparison that was measured meets its target, in both modes."""
    return all(
        verdict(summary, mode, ours, peers, target)[1]
        for ours, peers, target, _ in COMPARISONS
        if ours in summary and peers in summary
        for mode in MODES
    )


def _overhead_cell(name: str, figures: dict[str, float]) -> str:
    if name == "django":
        return "baseline"
    cell = f"{figures['overhead_us']:+.0f}"
    return cell if name == "bare" else f"{cell} (±{figures['overhead_iqr_us'] / 2:.0f})"


def markdown(result: dict[str, Any], facts: dict[str, str]) -> str:
    """The generated section of ``docs/performance.md``."""
    summary = result["summary"]
    by_name = {stack.name: stack for stack in STACKS}
    lines = [
        "## Middleware overhead per request",
        "",
        f"Measured {facts['date']} on {facts['machine']}, load average {facts['load']} at the start; "
        f"{facts['versions']}. {result['rounds']} interleaved rounds in {result['seconds']} s "
        f"(the pieces alone: one round in {DETAIL_EVERY}). "
        "Microseconds per request: the median over rounds of each batch's median request; "
        "overhead = the median over rounds of (stack - Django's default stack) in the same round, "
        "± half its interquartile range.",
        "",
        "| stack | WSGI µs | WSGI overhead | ASGI µs | ASGI overhead | log lines / request |",
        "|---|--:|--:|--:|--:|--:|",
    ]
    for group in ("main", "detail"):
        names = [name for name in summary if by_name[name].group == group]
        if group == "detail" and names:
            lines.append(
                "| *each piece alone, on top of Django's default stack:* | | | | | |"
            )
        for name in names:
            cells = []
            for mode in MODES:
                figures = summary[name][mode]
                cells += [f"{figures['median_us']:.0f}", _overhead_cell(name, figures)]
            log_lines = result["probes"][name]["wsgi"]["log_lines"]
            lines.append(
                f"| {by_name[name].label} | {' | '.join(cells)} | {log_lines} |"
            )
    for ours, peers, target, what in COMPARISONS:
        if ours not in summary or peers not in summary:
            continue
        lines += ["", f"Target for {what}: at most {target} × the peers' overhead.", ""]
        for mode in MODES:
            ratio, ok = verdict(summary, mode, ours, peers, target)
            lines.append(
                f"- {mode.upper()}: ours {_overhead_cell(ours, summary[ours][mode])} µs, "
                f"peers {_overhead_cell(peers, summary[peers][mode])} µs: "
                f"ratio **{ratio:.3f}** ({'meets' if ok else 'misses'} the target)"
            )
    lines += [
        "",
        "Response headers of one request, ours: "
        f"`{', '.join(result['probes']['ours']['wsgi']['headers'])}`; peers: "
        f"`{', '.join(result['probes']['peers']['wsgi']['headers'])}`.",
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0] if __doc__ else None
    )
    parser.add_argument(
        "--seconds",
        type=float,
        default=100.0,
        help="time budget for the measured rounds",
    )
    parser.add_argument(
        "--stacks", nargs="*", help="only these stacks (names in benchmarks/_stacks.py)"
    )
    args = parser.parse_args(argv)
    stacks = [
        s
        for s in STACKS
        if not args.stacks or s.name in args.stacks or s.name in ("django",)
    ]
    result = run(args.seconds, stacks)
    print(
        markdown(result, machine_facts())
        if {"ours", "peers"} <= result["summary"].keys()
        else json.dumps(result["summary"], indent=1)
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
