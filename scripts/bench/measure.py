"""Measurement: the model of a benchmark (steps, procedures, series, targets, scenarios) and
the timing of commands, interleaved, with their CPU time and peak memory."""

from __future__ import annotations

import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

MB = 1_000_000


class BenchError(Exception):
    """A command the benchmark depends on failed; the message says which and why."""


# --- what is measured ---


@dataclass(frozen=True)
class Step:
    """One timed command. Steps of a procedure that share a name are summed per run."""

    name: str
    argv: tuple[str, ...]
    cwd: Path | None = None
    phases: tuple[tuple[str, str], ...] = ()  # see run_phased


@dataclass
class Procedure:
    key: str  # "ours", "by_hand", "limit", ...
    label: str
    shown: str  # the command as the report shows it
    steps: list[Step]
    prepare: Callable[[], None] = lambda: None  # untimed, before every run
    rss_file: Path | None = None  # set when the steps run under /usr/bin/time -v -o FILE


@dataclass
class Series:
    key: str
    label: str
    shown: str
    unit: str  # "s", "MB" or "bytes"
    values: list[float] = field(default_factory=list)
    steps: dict[str, list[float]] = field(default_factory=dict)
    extra: dict[str, list[float]] = field(default_factory=dict)
    phases: dict[str, list[float]] = field(default_factory=dict)
    # CPU-seconds per run: "command" (with every child it waited for, gpg included) and
    # "server" (this process, which runs the mirror servers)
    cpu: dict[str, list[float]] = field(default_factory=dict)

    @property
    def median(self) -> float:
        return statistics.median(self.values)


@dataclass
class Target:
    text: str  # what the issue asks, e.g. "<= 0.3x by hand"
    limit: float
    baseline: str | None = None  # key of the series the ratio is taken against; None: absolute
    strict: bool = False  # "<" rather than "<="
    use_max: bool = False  # compare the worst run, not the median (peak memory)
    also: tuple[str, ...] = ()  # further series whose runs count for use_max
    measured: float | None = None
    status: str = "not measured"

    def evaluate(self, ours: Series, series: dict[str, Series]) -> None:
        if not ours.values:
            return
        if self.baseline is None:
            worst = max([*ours.values, *(v for key in self.also for v in series[key].values)])
            self.measured = worst if self.use_max else ours.median
        else:
            base = series[self.baseline]
            if not base.values or base.median <= 0:
                return
            self.measured = ours.median / base.median
        ok = self.measured < self.limit if self.strict else self.measured <= self.limit
        self.status = "met" if ok else "missed"


@dataclass
class Scenario:
    key: str
    title: str
    what: str  # one paragraph: what is compared, on which bytes
    series: list[Series] = field(default_factory=list)
    targets: list[Target] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    unavailable: str | None = None

    def by_key(self) -> dict[str, Series]:
        return {s.key: s for s in self.series}

    def evaluate(self) -> None:
        if self.unavailable is not None or not self.series:
            for target in self.targets:
                target.status = "not available"
            return
        series = self.by_key()
        for target in self.targets:
            target.evaluate(self.series[0], series)


# --- running commands ---


def _env() -> dict[str, str]:
    env = dict(os.environ)
    # Everything goes to 127.0.0.1: no proxy may intercept, no pip may look for updates.
    env["NO_PROXY"] = env["no_proxy"] = "127.0.0.1,localhost"
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    return env


ENV = _env()


def run(argv: Sequence[str], cwd: Path | None = None) -> float:
    """Run argv to completion; return its wall time in seconds or raise BenchError."""
    return run_phased(argv, cwd)[0]


def run_phased(
    argv: Sequence[str], cwd: Path | None = None, phases: tuple[tuple[str, str], ...] = ()
) -> tuple[float, dict[str, float]]:
    """Like run, and also split the wall time at the first stderr line starting with each
    prefix of `phases` ((prefix, name of the phase that line ends), in order); what follows
    the last one is "exit". Reading stderr costs nothing next to the work: a few lines."""
    marks: dict[str, float] = {}
    tail: list[str] = []
    start = time.perf_counter()
    proc = subprocess.Popen(
        list(argv), cwd=cwd, env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    assert proc.stderr is not None
    for raw in proc.stderr:
        now = time.perf_counter() - start
        line = raw.decode("utf-8", "replace")
        for prefix, name in phases:
            if name not in marks and line.startswith(prefix):
                marks[name] = now
        tail = [*tail[-4:], line.strip()]
    proc.wait()
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        raise BenchError(
            f"{' '.join(argv)} (in {cwd or Path.cwd()}) exited {proc.returncode}: "
            + " | ".join(tail)
        )
    split: dict[str, float] = {}
    if phases and len(marks) == len(phases):
        before = 0.0
        for _, name in phases:
            split[name] = marks[name] - before
            before = marks[name]
        split["exit"] = elapsed - before
    return elapsed, split


def output(argv: Sequence[str]) -> str:
    try:
        proc = subprocess.run(list(argv), env=ENV, capture_output=True, text=True, check=False)
    except OSError:
        return ""
    return (proc.stdout or proc.stderr).strip()


def fresh(path: Path) -> None:
    """Remove path if present and make it again, empty."""
    if path.exists():
        shutil.rmtree(path)
    path.mkdir(parents=True)


def gone(*paths: Path) -> None:
    for path in paths:
        if path.is_dir():
            shutil.rmtree(path)
        elif path.exists():
            path.unlink()


def _rss_mb(report: Path) -> float:
    match = re.search(r"Maximum resident set size \(kbytes\): (\d+)", report.read_text())
    if match is None:
        raise BenchError(f"{report}: no 'Maximum resident set size' line from /usr/bin/time -v")
    return int(match.group(1)) * 1024 / MB


CHILDREN, SELF = resource.RUSAGE_CHILDREN, resource.RUSAGE_SELF


def _cpu_of(usage: resource.struct_rusage) -> float:
    return usage.ru_utime + usage.ru_stime


def _cpu(who: int) -> float:
    return _cpu_of(resource.getrusage(who))


def measure(
    title: str, procedures: list[Procedure], runs: int, units: dict[str, str] | None = None
) -> list[Series]:
    """Run every procedure `runs` times, interleaved; one Series per procedure."""
    series = [Series(p.key, p.label, p.shown, (units or {}).get(p.key, "s")) for p in procedures]
    for index in range(runs):
        for procedure, result in zip(procedures, series, strict=True):
            print(f"bench: {title}: run {index + 1}/{runs}: {procedure.label}", file=sys.stderr)
            procedure.prepare()
            # Write-back of an earlier command's output must not land in this one's time.
            os.sync()
            per_step: dict[str, float] = {}
            children, own = resource.getrusage(CHILDREN), resource.getrusage(SELF)
            for step in procedure.steps:
                seconds, split = run_phased(step.argv, step.cwd, step.phases)
                per_step[step.name] = per_step.get(step.name, 0.0) + seconds
                for name, part in split.items():
                    result.phases.setdefault(name, []).append(part)
            total = sum(per_step.values())
            # The mirror servers are threads of this process: its own CPU time is theirs.
            result.cpu.setdefault("command", []).append(_cpu(CHILDREN) - _cpu_of(children))
            result.cpu.setdefault("server", []).append(_cpu(SELF) - _cpu_of(own))
            for name, seconds in per_step.items():
                result.steps.setdefault(name, []).append(seconds)
            if procedure.rss_file is not None:
                result.values.append(_rss_mb(procedure.rss_file))
                result.extra.setdefault("seconds", []).append(total)
            else:
                result.values.append(total)
    return series
