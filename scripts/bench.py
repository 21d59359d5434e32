"""Benchmarks: bundler against what an operator would do by hand, on the same bytes, in one run.

    python scripts/bench.py [--quick] [--runs N] [--out FILE] [--json FILE] [--only a,b]

Serves the bench mirror (tests/support/make_mirror.py with a Storm stand-in carrying
incompressible padding) on 127.0.0.1 with tests/support/mirror_server.py and times each scenario
against its baselines. Runs are interleaved (ours, baseline, limit, ours, ...) so that load
drift hits every command alike; the report gives median, min and max per command and the ratio
of medians that each target of issue 5 is about. `--quick` (CI) does one run with small
artifacts into build/benchmarks-quick.md: it keeps the script working, its numbers mean nothing.
The bench mirrors are built once under build/ (the 1 GiB one for the memory scenario takes
minutes).
"""

from __future__ import annotations

import argparse
import datetime
import fcntl
import hashlib
import json
import os
import platform
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
import zlib
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

SCRIPTS_DIR = Path(__file__).resolve().parent
REPO = SCRIPTS_DIR.parent
# The bundler package and the test mirror's code (tests.support), from this checkout.
sys.path.insert(0, str(REPO))

from bundler.checksums import for_file, strongest  # noqa: E402
from tests.support.make_mirror import mirror_is_current  # noqa: E402
from tests.support.mirror_server import MirrorServer  # noqa: E402

STORM = "0.9.5"
ZOOKEEPER = "3.4.6"
BUNDLE = f"storm-{STORM}-zk-{ZOOKEEPER}"
STORM_DIR = f"storm/apache-storm-{STORM}"
ZK_DIR = f"zookeeper/zookeeper-{ZOOKEEPER}"
WHEELHOUSE = REPO / "build" / "wheelhouse"
DEFAULT_OUT = REPO / "docs" / "benchmarks.md"
# Quick numbers mean nothing: they never replace the committed report.
QUICK_OUT = REPO / "build" / "benchmarks-quick.md"
MB = 1_000_000
# Sizes in MiB of the Storm stand-in's padding, as make_mirror counts them.
FULL_PAD_MB = 300
FULL_MEMORY_PAD_MB = 1024
QUICK_PAD_MB = 20
QUICK_MEMORY_PAD_MB = 50
THROTTLE = 10 * MB  # bytes per second per connection, for the slow mirror
MEMORY_TARGET_MB = 150.0
TOOLS = ("curl", "tar", "gzip", "sha512sum", "sha1sum", "sha256sum", "gpg")
TIME_BIN = Path("/usr/bin/time")
# In report order; "size" reads what "warm" wrote.
SCENARIOS = ("cold", "slow", "warm", "verify", "install", "memory", "size")


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
    measured: float | None = None
    status: str = "not measured"

    def evaluate(self, ours: Series, series: dict[str, Series]) -> None:
        if not ours.values:
            return
        if self.baseline is None:
            self.measured = max(ours.values) if self.use_max else ours.median
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


# Progress lines of `bundler build` that end its phases.
BUILD_PHASES = (("writing ", "start, fetch and check"), ("bundle  ", "write the archive"))


# --- the setting: mirrors, servers, the bundle the baselines work on ---


@dataclass(frozen=True)
class Config:
    quick: bool
    runs: int
    pad_mb: int
    memory_pad_mb: int
    throttle: int
    out: Path
    json_out: Path | None
    only: frozenset[str] = frozenset(SCENARIOS)

    @property
    def mirror(self) -> Path:
        name = "bench-mirror-quick" if self.quick else "bench-mirror"
        return REPO / "build" / name

    @property
    def memory_mirror(self) -> Path:
        name = "bench-mirror-quick-50" if self.quick else "bench-mirror-1g"
        return REPO / "build" / name


def ensure_mirrors(config: Config) -> None:
    """Build the mirrors that are missing or stale, side by side (each uses one core)."""
    wanted = [(config.mirror, config.pad_mb)]
    if "memory" in config.only:
        wanted.append((config.memory_mirror, config.memory_pad_mb))
    lock_path = REPO / "build" / ".bench-mirror.lock"
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with open(lock_path, "w") as lock:
        # Two bench runs at once (a test and `make bench`) build each mirror once between them.
        fcntl.flock(lock, fcntl.LOCK_EX)
        building = []
        for path, pad in wanted:
            if mirror_is_current(path, pad):
                continue
            print(f"bench: building {path} ({pad} MiB Storm stand-in)", file=sys.stderr)
            argv = [sys.executable, "-m", "tests.support.make_mirror", "--out", str(path)]
            argv += ["--storm-pad-mb", str(pad)]
            building.append((path, subprocess.Popen(argv, stdout=subprocess.DEVNULL, cwd=REPO)))
        for path, proc in building:
            if proc.wait() != 0:
                raise BenchError(f"make_mirror --out {path} failed (exit {proc.returncode})")


def bundler_cli() -> list[str]:
    script = Path(sys.executable).parent / "bundler"
    return [str(script)] if script.is_file() else [sys.executable, "-m", "bundler"]


def build_argv(
    url: str, mirror: Path, cache: Path, out: Path, *extra: str, index: str | None = None
) -> tuple[str, ...]:
    return (
        *bundler_cli(),
        "build",
        "--storm",
        STORM,
        "--zk",
        ZOOKEEPER,
        "--mirror",
        url,
        "--no-default-mirrors",
        "--keys",
        str(mirror / "keys" / "KEYS"),
        "--no-pins",
        "--index-url",
        index or f"{url}/simple",
        "--cache-dir",
        str(cache),
        "--output-dir",
        str(out),
        *extra,
    )


BUILD_SHOWN = (
    f"bundler build --storm {STORM} --zk {ZOOKEEPER} --mirror $MIRROR --no-default-mirrors "
    "--keys KEYS --no-pins --index-url $MIRROR/simple --cache-dir CACHE --output-dir OUT"
)


@dataclass(frozen=True)
class Remote:
    """A file the build takes from the mirror: its URL path and where the bundle keeps it."""

    path: str  # URL path on the mirror, "/storm/..."
    name: str  # file name

    def url(self, base: str) -> str:
        return base + self.path


@dataclass
class Setting:
    config: Config
    work: Path
    url: str
    slow_url: str
    memory_url: str
    bundle: Path = Path()  # the primed bundle .tar
    unpacked: Path = Path()  # its folder, unpacked
    manifest: dict[str, Any] = field(default_factory=dict)
    remotes: list[Remote] = field(default_factory=list)
    sums: dict[str, Path] = field(default_factory=dict)  # checksum file per tool, coreutils format
    startup: float = 0.0  # median wall time of `bundler --version`
    rates: dict[str, float] = field(default_factory=dict)  # MB/s of this CPU, one core

    @property
    def artifacts(self) -> list[str]:
        return [a["path"] for a in self.manifest["artifacts"]]

    @property
    def storm_size(self) -> int:
        return int(next(a["size"] for a in self.manifest["artifacts"] if a["component"] == "storm"))

    @property
    def bundle_size(self) -> int:
        return self.bundle.stat().st_size

    @property
    def cores(self) -> int:
        return len(os.sched_getaffinity(0))


def prime(setting: Setting) -> None:
    """One untimed cold build: the wheel list the baselines fetch, the warm cache, the bundle."""
    base = setting.work / "prime"
    run(build_argv(setting.url, setting.config.mirror, base / "cache", base / "out"))
    setting.bundle = base / "out" / f"{BUNDLE}.tar"
    setting.unpacked = setting.work / "unpacked"
    fresh(setting.unpacked)
    with tarfile.open(setting.bundle) as tar:
        tar.extractall(setting.unpacked, filter="data")
    setting.manifest = json.loads((setting.unpacked / BUNDLE / "bundle.json").read_text())
    remotes: list[Remote] = []
    # Where each release came from is in the provenance beside the bundle, not in it.
    provenance = json.loads(setting.bundle.with_name(f"{BUNDLE}.tar.provenance.json").read_text())
    uris = {
        d["name"]: d.get("uri")
        for d in provenance["predicate"]["buildDefinition"]["resolvedDependencies"]
    }
    for artifact in setting.manifest["artifacts"]:
        url = str(uris[artifact["path"].rsplit("/", 1)[1]])
        folder = url[len(setting.url) :].rsplit("/", 1)[0]
        for rel in [artifact["path"], *artifact["sidecars"]]:
            name = rel.rsplit("/", 1)[1]
            remotes.append(Remote(f"{folder}/{name}", name))
    wheels = sorted(f for f in setting.manifest["files"] if f.startswith("python/wheels/"))
    # The mirror server publishes its wheelhouse at /wheelhouse/, which its /simple/ pages link.
    remotes += [
        Remote(f"/wheelhouse/{rel.rsplit('/', 1)[1]}", rel.rsplit("/", 1)[1]) for rel in wheels
    ]
    setting.remotes = remotes
    setting.sums = _coreutils_sums(setting, wheels)
    setting.startup = statistics.median(run((*bundler_cli(), "--version")) for _ in range(5))
    storm = next(a for a in setting.manifest["artifacts"] if a["component"] == "storm")
    setting.rates = cpu_rates(setting.unpacked / BUNDLE / storm["path"])


def cpu_rates(tarball: Path) -> dict[str, float]:
    """One core's throughput, in MB/s, at what a build does to each byte of a tarball."""
    with open(tarball, "rb") as handle:
        data = handle.read(64 << 20)
    rates = {}
    for name in ("sha256", "sha512", "sha1"):
        start = time.perf_counter()
        hashlib.new(name, data).digest()
        rates[name] = len(data) / MB / (time.perf_counter() - start)
    start = time.perf_counter()
    zlib.decompressobj(wbits=31).decompress(data)
    rates["inflate"] = len(data) / MB / (time.perf_counter() - start)
    return rates


def _coreutils_sums(setting: Setting, wheels: list[str]) -> dict[str, Path]:
    """What an operator writes down before `sha*sum -c`: each tarball's strongest published
    checksum (Storm 0.9.5 publishes the multi-line `gpg --print-md` layout, which coreutils
    cannot read) and the wheels' sha256 from the locks."""
    folder = setting.work / "sums"
    fresh(folder)
    lines: dict[str, list[str]] = {}
    for artifact in setting.manifest["artifacts"]:
        name = artifact["path"].rsplit("/", 1)[1]
        published = []
        for sidecar in artifact["sidecars"]:
            text = (setting.unpacked / BUNDLE / sidecar).read_text("utf-8", "replace")
            published += for_file(text, name)
        best = strongest(published)
        if best is None:
            raise BenchError(f"{name}: no checksum published next to it on the mirror")
        lines.setdefault(f"{best.algorithm}sum", []).append(f"{best.digest.lower()}  {name}\n")
    for rel in wheels:
        digest = setting.manifest["files"][rel]["sha256"]
        lines.setdefault("sha256sum", []).append(f"{digest}  {rel.rsplit('/', 1)[1]}\n")
    out = {}
    for tool, entries in lines.items():
        path = folder / f"{tool}.txt"
        path.write_text("".join(entries))
        out[tool] = path
    return out


def checksum_steps(setting: Setting, cwd: Path) -> list[Step]:
    return [
        Step("sha*sum -c", (tool, "-c", "--quiet", str(path)), cwd)
        for tool, path in sorted(setting.sums.items())
    ]


def curl_each(base: str, remotes: list[Remote], cwd: Path) -> list[Step]:
    return [Step("curl", ("curl", "-fsS", "-O", r.url(base)), cwd) for r in remotes]


# --- the scenarios ---


def cold_build(setting: Setting) -> Scenario:
    work = setting.work / "cold"
    files = len(setting.remotes)
    wheel_count = sum(r.name.endswith(".whl") for r in setting.remotes)
    scenario = Scenario(
        "cold",
        "Cold build (empty cache)",
        f"The same {files} files from the mirror on 127.0.0.1: the two release tarballs, their "
        f"checksum files and signatures, and the {wheel_count} locked wheel files for the 9 "
        "target Pythons. Ours starts from an empty cache every run and also checks both gpg "
        "signatures and every tar header, which the baselines do not. By hand fetches each "
        "wheel by its exact URL (what `pip download` would resolve from the index) and checks "
        "it against the locks' sha256, as `pip download --require-hashes` would.",
        targets=[
            Target("<= 0.3x by hand", 0.3, "by_hand"),
            Target("<= 2x the limit", 2.0, "limit"),
        ],
    )
    ours_dir, hand_dir, limit_dir = work / "ours", work / "hand", work / "limit"
    hand_files, limit_files = hand_dir / BUNDLE, limit_dir / BUNDLE
    urls = tuple(r.url(setting.url) for r in setting.remotes)
    checks = ", ".join(f"`{tool} -c`" for tool in sorted(setting.sums))
    procedures = [
        Procedure(
            "ours",
            "ours",
            f"`{BUILD_SHOWN}`, empty CACHE",
            [
                Step(
                    "build",
                    build_argv(
                        setting.url, setting.config.mirror, ours_dir / "cache", ours_dir / "out"
                    ),
                    phases=BUILD_PHASES,
                )
            ],
            prepare=lambda: gone(ours_dir),
        ),
        Procedure(
            "by_hand",
            "by hand",
            f"`curl -fsS -O URL` per file ({files}); {checks}; `tar czf {BUNDLE}.tar.gz {BUNDLE}`",
            [
                *curl_each(setting.url, setting.remotes, hand_files),
                *checksum_steps(setting, hand_files),
                Step("tar czf", ("tar", "czf", f"{BUNDLE}.tar.gz", BUNDLE), hand_dir),
            ],
            prepare=lambda: fresh(hand_files),
        ),
        Procedure(
            "limit",
            "limit",
            f"one `curl -fsS --remote-name-all` of the {files} URLs; "
            f"`tar cf {BUNDLE}.tar {BUNDLE}`",
            [
                Step("curl", ("curl", "-fsS", "--remote-name-all", *urls), limit_files),
                Step("tar cf", ("tar", "cf", f"{BUNDLE}.tar", BUNDLE), limit_dir),
            ],
            prepare=lambda: fresh(limit_files),
        ),
    ]
    scenario.series = measure("cold build", procedures, setting.config.runs)
    gone(work)
    return scenario


def slow_mirror(setting: Setting) -> Scenario:
    work = setting.work / "slow"
    rate = setting.config.throttle / MB
    scenario = Scenario(
        "slow",
        f"Cold build from a slow mirror ({rate:g} MB/s per connection)",
        f"The test server throttles every connection to {rate:g} MB/s. Ours is the cold build "
        f"above against that server (`--jobs` 4, the default); by hand is one `curl` per file "
        f"for the same {len(setting.remotes)} files, one after the other, and nothing else.",
        targets=[Target("<= 0.4x by hand", 0.4, "by_hand")],
    )
    ours_dir, hand_dir = work / "ours", work / "hand"
    procedures = [
        Procedure(
            "ours",
            "ours",
            f"`{BUILD_SHOWN}`, empty CACHE, throttled $MIRROR",
            [
                Step(
                    "build",
                    build_argv(
                        setting.slow_url,
                        setting.config.mirror,
                        ours_dir / "cache",
                        ours_dir / "out",
                    ),
                    phases=BUILD_PHASES,
                )
            ],
            prepare=lambda: gone(ours_dir),
        ),
        Procedure(
            "by_hand",
            "by hand",
            f"`curl -fsS -O URL` per file ({len(setting.remotes)}), throttled $MIRROR",
            curl_each(setting.slow_url, setting.remotes, hand_dir),
            prepare=lambda: fresh(hand_dir),
        ),
    ]
    scenario.series = measure("slow mirror", procedures, setting.config.runs)
    gone(work)
    return scenario


def warm_build(setting: Setting) -> tuple[Scenario, dict[str, int]]:
    """The warm build against tar over the same payload; also returns the sizes it made."""
    work = setting.work / "warm"
    cache = setting.work / "prime" / "cache"
    scenario = Scenario(
        "warm",
        "Warm build (everything cached)",
        "Ours rebuilds the bundle from a warm cache (no network request; each payload byte is "
        "read once, hashed against the cache record, and written; the archive is fsynced). "
        "The baselines archive the same payload, the unpacked bundle folder, with GNU tar "
        "(no fsync). `--format tar.gz` is measured alongside, for the choice of the default.",
        targets=[
            Target("<= 0.15x `tar czf`", 0.15, "tar_czf"),
            Target("<= 2x `tar cf` (the limit)", 2.0, "tar_cf"),
        ],
    )
    fresh(work)
    out, out_gz = work / "out", work / "out-gz"
    czf, cf = work / f"{BUNDLE}.tar.gz", work / f"{BUNDLE}.tar"
    parent = setting.unpacked
    procedures = [
        Procedure(
            "ours",
            "ours (`tar`, the default)",
            f"`{BUILD_SHOWN}`, warm CACHE",
            [
                Step(
                    "build",
                    build_argv(setting.url, setting.config.mirror, cache, out),
                    phases=BUILD_PHASES,
                )
            ],
            prepare=lambda: gone(out),
        ),
        Procedure(
            "ours_gz",
            "ours, `--format tar.gz`",
            f"`{BUILD_SHOWN} --format tar.gz`, warm CACHE",
            [
                Step(
                    "build",
                    build_argv(
                        setting.url, setting.config.mirror, cache, out_gz, "--format", "tar.gz"
                    ),
                    phases=BUILD_PHASES,
                )
            ],
            prepare=lambda: gone(out_gz),
        ),
        Procedure(
            "tar_czf",
            "`tar czf`",
            f"`tar czf OUT.tar.gz {BUNDLE}` (the unpacked bundle)",
            [Step("tar czf", ("tar", "czf", str(czf), BUNDLE), parent)],
            prepare=lambda: gone(czf),
        ),
        Procedure(
            "tar_cf",
            "`tar cf` (limit)",
            f"`tar cf OUT.tar {BUNDLE}` (the unpacked bundle)",
            [Step("tar cf", ("tar", "cf", str(cf), BUNDLE), parent)],
            prepare=lambda: gone(cf),
        ),
    ]
    scenario.series = measure("warm build", procedures, setting.config.runs)
    sizes = {
        "ours": (out / f"{BUNDLE}.tar").stat().st_size,
        "ours_gz": (out_gz / f"{BUNDLE}.tar.gz").stat().st_size,
        "tar_czf": czf.stat().st_size,
        "tar_cf": cf.stat().st_size,
    }
    gone(work)
    return scenario, sizes


def bundle_size(sizes: dict[str, int]) -> Scenario:
    scenario = Scenario(
        "size",
        "Bundle size",
        "Bytes on disk of what each warm-build command above wrote, for the same payload. "
        "The bundle is deterministic, so one measurement is exact.",
        targets=[Target("<= 1.02x `tar czf`", 1.02, "tar_czf")],
    )
    rows = [
        ("ours", "ours (`tar`, the default)", f"`{BUNDLE}.tar`"),
        ("tar_czf", "`tar czf`", "`tar czf` of the unpacked bundle"),
        ("ours_gz", "ours, `--format tar.gz`", f"`{BUNDLE}.tar.gz`"),
        ("tar_cf", "`tar cf`", "`tar cf` of the unpacked bundle"),
    ]
    scenario.series = [
        Series(key, label, shown, "bytes", [float(sizes[key])]) for key, label, shown in rows
    ]
    return scenario


def verify_scenario(setting: Setting) -> Scenario:
    scenario = Scenario(
        "verify",
        "`bundler verify`",
        "Ours checks the bundle archive in one pass (every member against bundle.json and "
        "SHA256SUMS, the archive against its .sha256, tar entries for safety); the baseline "
        "checks the unpacked folder against SHA256SUMS.",
        targets=[Target("<= 1.2x `sha256sum -c`", 1.2, "sha256sum")],
    )
    folder = setting.unpacked / BUNDLE
    procedures = [
        Procedure(
            "ours",
            "ours",
            f"bundler verify {BUNDLE}.tar",
            [Step("verify", (*bundler_cli(), "verify", str(setting.bundle)))],
        ),
        Procedure(
            "sha256sum",
            "`sha256sum -c`",
            "`sha256sum -c SHA256SUMS` in the unpacked bundle",
            [Step("sha256sum -c", ("sha256sum", "-c", "--quiet", "SHA256SUMS"), folder)],
        ),
    ]
    scenario.series = measure("verify", procedures, setting.config.runs)
    return scenario


def _target_python() -> tuple[str, str]:
    """The interpreter `python3` on PATH really is (no shim in the timing) and its X.Y."""
    found = output(
        [
            "python3",
            "-c",
            "import sys; print(sys.executable); print('%d.%d' % sys.version_info[:2])",
        ]
    ).splitlines()
    if len(found) != 2:
        raise BenchError("python3 is not on PATH; the install scenario needs it")
    return found[0], found[1]


def _locked_requirements(lock: Path) -> list[str]:
    """name==version of each locked package but pip (the venv brings its own)."""
    wanted = []
    for line in lock.read_text().splitlines():
        match = re.match(r"([A-Za-z0-9_.-]+)==([^\s;\\]+)", line)
        if match and match.group(1).lower() != "pip":
            wanted.append(f"{match.group(1)}=={match.group(2)}")
    return wanted


def install_scenario(setting: Setting) -> Scenario:
    scenario = Scenario(
        "install",
        "`install.sh --no-start` on the target",
        "Ours: the bundle's installer, as root, into a fresh prefix each run: it checks every "
        "file against SHA256SUMS, unpacks both releases (checking every entry), installs "
        "supervisord's locked wheels for the host's Python and writes every config. By hand: "
        "the same check, `tar xzf` of each release, and a virtualenv with the locked wheels, "
        "configs left unwritten. Plain: `tar xzf` of the releases alone.",
        targets=[Target("<= 1.1x by hand", 1.1, "by_hand")],
    )
    folder = setting.unpacked / BUNDLE
    installer = folder / "install.sh"
    prefix = setting.work / "install" / "prefix"
    ours = Procedure(
        "ours",
        "ours",
        "`./install.sh --role all --prefix $PREFIX --no-start`, as root",
        [
            Step(
                "install.sh",
                (str(installer), "--role", "all", "--prefix", str(prefix), "--no-start"),
            )
        ],
        prepare=lambda: gone(prefix),
    )
    if os.geteuid() != 0:
        scenario.unavailable = "not available: needs root (install.sh --role all runs as root)"
        return scenario
    if not installer.is_file() or "--no-start" not in installer.read_text():
        scenario.unavailable = "not available: this bundle's install.sh has no --no-start yet"
        return scenario
    fresh(prefix.parent)
    prefix.parent.chmod(0o755)
    if not setting.config.quick:
        # Untimed, so that the service user's creation on a new host is in no run's time.
        try:
            run(ours.steps[0].argv)
        except BenchError as error:
            scenario.unavailable = f"not available: {error}"
            return scenario
    python, version = _target_python()
    lock = folder / "python" / "locks" / f"py{version}.txt"
    if not lock.is_file():
        scenario.unavailable = f"not available: the bundle has no lock for python3 ({version})"
        return scenario
    untar = [
        Step("tar xzf", ("tar", "xzf", str(folder / rel), "-C", str(prefix)))
        for rel in setting.artifacts
    ]
    venv = prefix / "venv"
    by_hand = Procedure(
        "by_hand",
        "by hand",
        "`sha256sum -c SHA256SUMS`; `tar xzf` each release; `python3 -m venv`; "
        f"`pip install --no-index --find-links python/wheels` of the py{version} lock",
        [
            Step("sha256sum -c", ("sha256sum", "-c", "--quiet", "SHA256SUMS"), folder),
            *untar,
            Step("python3 -m venv", (python, "-m", "venv", str(venv))),
            Step(
                "pip install",
                (
                    str(venv / "bin" / "pip"),
                    "install",
                    "--quiet",
                    "--no-index",
                    "--find-links",
                    str(folder / "python" / "wheels"),
                    *_locked_requirements(lock),
                ),
            ),
        ],
        prepare=lambda: fresh(prefix),
    )
    plain = Procedure(
        "tar_xzf",
        "plain `tar xzf`",
        "`tar xzf` of each release",
        untar,
        prepare=lambda: fresh(prefix),
    )
    try:
        scenario.series = measure("install", [ours, by_hand, plain], setting.config.runs)
    except BenchError as error:
        # The installer is being extended; a failure is reported, not faked as a number.
        scenario.unavailable = f"not available: {error}"
    gone(prefix)
    return scenario


def memory_scenario(setting: Setting) -> Scenario:
    config = setting.config
    work = setting.work / "memory"
    scenario = Scenario(
        "memory",
        f"Peak memory of a cold build with a {config.memory_pad_mb} MiB artifact",
        f"`/usr/bin/time -v` of a cold `bundler build` whose Storm stand-in carries "
        f"{config.memory_pad_mb} MiB of incompressible bytes: the largest resident set of the "
        "bundler process (its gpg child is smaller and not added). MB are 10^6 bytes.",
        targets=[
            Target(
                f"< {MEMORY_TARGET_MB:g} MB (worst run)",
                MEMORY_TARGET_MB,
                strict=True,
                use_max=True,
            )
        ],
    )
    if not TIME_BIN.is_file():
        scenario.unavailable = (
            f"not available: {TIME_BIN} is missing (Debian: apt-get install time)"
        )
        return scenario
    report = work / "time.txt"
    argv = build_argv(
        setting.memory_url,
        config.memory_mirror,
        work / "cache",
        work / "out",
        index=f"{setting.url}/simple",
    )
    procedure = Procedure(
        "ours",
        "ours",
        f"`/usr/bin/time -v {BUILD_SHOWN}`, empty CACHE",
        [Step("build", (str(TIME_BIN), "-v", "-o", str(report), *argv), phases=BUILD_PHASES)],
        prepare=lambda: fresh(work),
        rss_file=report,
    )
    scenario.series = measure("memory", [procedure], config.runs, {"ours": "MB"})
    gone(work)
    return scenario


# --- notes: why a target is missed and what would close it ---


def add_notes(scenarios: list[Scenario], setting: Setting) -> None:
    for scenario in scenarios:
        if scenario.unavailable is not None:
            continue
        note = NOTES.get(scenario.key)
        if note is not None:
            missed = [t for t in scenario.targets if t.status == "missed"]
            scenario.notes += note(scenario.by_key(), missed, setting)


def _steps_line(series: Series) -> str:
    parts = [f"{name} {statistics.median(values):.2f} s" for name, values in series.steps.items()]
    return f"{series.label}, median per step: " + ", ".join(parts) + "."


def _phases_line(series: Series, setting: Setting) -> str:
    parts = [f"{name} {statistics.median(values):.2f} s" for name, values in series.phases.items()]
    return (
        f"{series.label}, median per phase (split at its progress lines): "
        + ", ".join(parts)
        + f". Of the first, {setting.startup:.2f} s is the interpreter starting and importing "
        "(the median of `bundler --version`)."
    )


def _which(missed: list[Target]) -> str:
    return " and ".join(f"'{t.text}'" for t in missed) + (" are" if len(missed) > 1 else " is")


def _cpu_line(scenario_series: list[Series], setting: Setting) -> str:
    parts = []
    for series in scenario_series:
        own = statistics.median(series.cpu["command"])
        server = statistics.median(series.cpu["server"])
        parts.append(f"{series.label} {own:.2f} + {server:.2f}")
    ours = scenario_series[0]
    busy = sum(statistics.median(v) for v in ours.cpu.values()) / ours.median
    return (
        "CPU-seconds per run (median), the command's own (threads and child processes "
        "included) + the mirror server's: "
        + "; ".join(parts)
        + f". Ours keeps {busy:.1f} of the {setting.cores} cores busy on average."
    )


def _mb(size: float) -> str:
    return f"{size / MB:,.0f} MB"


def _rates(setting: Setting) -> str:
    return ", ".join(f"{name} {rate:,.0f} MB/s" for name, rate in setting.rates.items())


def _cold_notes(series: dict[str, Series], missed: list[Target], setting: Setting) -> list[str]:
    ours = series["ours"]
    notes = [
        _phases_line(ours, setting),
        _steps_line(series["by_hand"]),
        _steps_line(series["limit"]),
        _cpu_line([ours, series["by_hand"], series["limit"]], setting),
    ]
    if not missed:
        return notes
    storm = setting.storm_size
    rates = setting.rates
    check_cpu = sum(storm / MB / rates[name] for name in ("sha256", "sha512", "inflate"))
    rehash = setting.bundle_size / MB / rates["sha256"]
    ours_cpu = statistics.median(ours.cpu["command"])
    limit_cpu = statistics.median(series["limit"].cpu["command"])
    notes.append(
        f"Why {_which(missed)} missed: on these {setting.cores} cores the cold build is bound "
        f"by CPU, not by the loopback: ours spends {ours_cpu:.1f} CPU-seconds a run where "
        f"curl and `tar cf` spend {limit_cpu:.1f}. Ours hashes the {_mb(storm)} Storm tarball "
        "with sha256 (for the manifest) and sha512 (Apache's published checksum), inflates "
        "it to check every tar header, and pipes it to gpg for the signature; at this CPU's "
        f"rates (Python's hashlib and zlib: {_rates(setting)}) the hashes and the inflate "
        f"alone are {check_cpu:.1f} CPU-seconds, before gpg's own digest and the copies "
        "through Python. Writing the archive then reads every member back from the cache, "
        f"re-hashes it against its record ({rehash:.2f} CPU-s), hashes the archive on a "
        "second thread and fsyncs it; `tar cf` does none of these."
    )
    closing = (
        "What would close it: (1) skip the re-hash of members verified earlier in the same "
        "build (it guards the cache between builds, not a file staged seconds ago) and copy "
        "them with `os.copy_file_range`, leaving the archive's sha256 as the only work on the "
        "bytes besides the copy; (2) import requests, packaging and typer lazily, which trims "
        f"the {setting.startup:.2f} s start"
    )
    if setting.cores < 4:
        closing += (
            "; (3) more cores: the hashes, the tar check and gpg already run on threads and a "
            "process of their own, so with 4 or more cores they would overlap the transfer "
            f"instead of sharing {setting.cores}"
        )
    notes.append(closing + ".")
    return notes


def _slow_notes(series: dict[str, Series], missed: list[Target], setting: Setting) -> list[str]:
    notes = [
        _phases_line(series["ours"], setting),
        _steps_line(series["by_hand"]),
        _cpu_line([series["ours"], series["by_hand"]], setting),
    ]
    if missed:
        notes.append(
            "Why it is missed: a transfer is split only after 0.5 s, once the rest would take "
            "more than 3 s at the rate so far (HttpConfig.slow_seconds) and is at least 8 MB "
            "(min_split); the first connection keeps a quarter of the rest. What would close "
            "it: split earlier, or keep more connections (`--jobs`), where the server allows."
        )
    return notes


def _warm_notes(series: dict[str, Series], missed: list[Target], setting: Setting) -> list[str]:
    ours, gz, czf = series["ours"].median, series["ours_gz"].median, series["tar_czf"].median
    notes = [
        _phases_line(series["ours"], setting),
        _cpu_line([series["ours"], series["tar_cf"]], setting),
        f"`--format tar.gz` takes {gz / ours:.1f}x as long as the default `tar` for the "
        "bundle-size gain shown under Bundle size; gzip over an already compressed payload is "
        f"also where `tar czf` spends its {czf:.2f} s. Hence the default: plain ustar, which "
        "every old `tar` unpacks with no zstd, not even gzip, needed.",
    ]
    if missed:
        rehash = setting.bundle_size / MB / setting.rates["sha256"]
        notes.append(
            f"Why {_which(missed)} missed: `tar cf` only copies bytes. Ours first starts Python "
            f"and imports its dependencies ({setting.startup:.2f} s), reads the cache records "
            "and the locks, then copies the same bytes while re-hashing every member against "
            f"its cache record ({rehash:.2f} CPU-s of sha256 at this CPU's rate) and hashing "
            "the archive on a second thread, and fsyncs the archive before renaming it into "
            "place. What would close it: lazy imports for the start; trusting a cache entry "
            "whose size, inode and mtime still match the record instead of re-hashing it (a "
            "weaker guard against a cache altered on disk); the fsync should stay: "
            "without it a crash soon after the build can leave a renamed but empty bundle."
        )
    return notes


def _verify_notes(series: dict[str, Series], missed: list[Target], setting: Setting) -> list[str]:
    ours, base = series["ours"].median, series["sha256sum"].median
    sha256sum_rate = setting.bundle_size / MB / base
    notes = [
        f"`sha256sum -c` runs at about {sha256sum_rate:,.0f} MB/s here (coreutils, its own "
        f"C code); Python's hashlib hashes sha256 at {setting.rates['sha256']:,.0f} MB/s, "
        "so ours affords two sha256 over every byte (members and the archive, on two threads) "
        "plus the interpreter's start."
    ]
    if missed:
        notes.append(
            f"Why it is missed: ours takes {ours - base:.2f} s more; with a payload this size "
            "the interpreter's start and tar parsing in Python outweigh the faster hashing. "
            "What would close it: a larger payload, or lazy imports for the start."
        )
    return notes


def _install_notes(series: dict[str, Series], missed: list[Target], setting: Setting) -> list[str]:
    notes = [_steps_line(series["by_hand"])]
    if missed:
        notes.append(
            "Why it is missed: besides what the by-hand way does, the installer checks every "
            "tar entry as it unpacks, finds Java and a Python, and writes every config and "
            "state file. What would close it: unpack both releases in parallel, and install "
            "the wheels while they unpack."
        )
    return notes


def _memory_notes(series: dict[str, Series], missed: list[Target], setting: Setting) -> list[str]:
    ours = series["ours"]
    notes = [_phases_line(ours, setting)]
    if missed:
        notes.append(
            "Why it is missed: some buffer grows with the file. What would close it: find it "
            "with a heap profile (tracemalloc) of the build; every stage is meant to stream "
            "in 1 MiB chunks through bounded queues."
        )
    return notes


NOTES: dict[str, Callable[[dict[str, Series], list[Target], Setting], list[str]]] = {
    "cold": _cold_notes,
    "slow": _slow_notes,
    "warm": _warm_notes,
    "verify": _verify_notes,
    "install": _install_notes,
    "memory": _memory_notes,
}


# --- the report ---


def machine() -> dict[str, str]:
    cpu = "unknown"
    with open("/proc/cpuinfo") as info:
        for line in info:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    memory = "unknown"
    with open("/proc/meminfo") as info:
        for line in info:
            if line.startswith("MemTotal:"):
                memory = f"{int(line.split()[1]) / (1 << 20):.1f} GiB"
                break
    commit = output(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"]) or "unknown"
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    return {
        "cores": str(len(os.sched_getaffinity(0))),
        "cpu": cpu,
        "memory": memory,
        "kernel": f"{platform.system()} {platform.release()}",
        # The version, not the interpreter's path: the report is committed and read elsewhere.
        "python": f"{platform.python_version()} ({platform.python_implementation()})",
        "tools": ", ".join(_version(tool) for tool in ("curl", "tar", "gzip", "sha256sum", "gpg")),
        "commit": commit,
        "load": load,
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
    }


def _version(tool: str) -> str:
    """ "curl 7.88.1" from the first line of `tool --version`, whatever the vendor's wording."""
    first = (output([tool, "--version"]).splitlines() or [""])[0]
    match = re.search(r"\d+(\.\d+)+", first)
    return f"{tool} {match.group(0)}" if match else tool


def _fmt(value: float, unit: str) -> str:
    if unit == "s":
        return f"{value:.2f} s"
    if unit == "MB":
        return f"{value:.1f} MB"
    return f"{int(value):,}"


def _ratio_cell(scenario: Scenario, series: Series) -> tuple[str, str, str]:
    ours = scenario.series[0]
    if series is ours:
        return "", "", ""
    ratio = f"{ours.median / series.median:.2f}x" if series.median > 0 else "n/a"
    for target in scenario.targets:
        if target.baseline == series.key:
            return ratio, target.text, f"**{target.status}**"
    return ratio, "", ""


def render(
    config: Config, facts: dict[str, str], setting: Setting, scenarios: list[Scenario]
) -> str:
    runs = "1 run (quick mode: the numbers mean nothing)" if config.quick else f"{config.runs} runs"
    command = "make bench QUICK=1" if config.quick else "make bench"
    storm = next(a for a in setting.manifest["artifacts"] if a["component"] == "storm")
    zk = next(a for a in setting.manifest["artifacts"] if a["component"] == "zookeeper")
    wheels = [r for r in setting.remotes if r.name.endswith(".whl")]
    wheel_bytes = sum(setting.manifest["files"][f"python/wheels/{r.name}"]["size"] for r in wheels)
    lines = [
        "# Benchmarks",
        "",
        "Generated by `scripts/bench.py`; do not edit by hand.",
        "",
        f"Reproduce: `{command}`, as root for the install scenario (or "
        f"`.venv/bin/python scripts/bench.py{' --quick' if config.quick else ''} "
        f"--runs {config.runs}`). `make bench QUICK=1` is the seconds-long check CI runs; it "
        "writes build/benchmarks-quick.md.",
        "",
        f"- Machine: {facts['cores']} cores ({facts['cpu']}), {facts['memory']} RAM, "
        f"{facts['kernel']}",
        f"- Python: {facts['python']}",
        f"- Tools: {facts['tools']}",
        f"- Date: {facts['date']}, bundler at commit {facts['commit']}",
        f"- Load average (1, 5, 15 min): {facts['load']} at the start, {facts['load_end']} at "
        "the end (other work on the machine shows up as a wider min to max)",
        f"- Runs: {runs}, interleaved (ours, baseline, limit, ours, ...); median, min and max "
        "per command; ratios are of medians (ours ÷ baseline).",
        "- Inputs: the bench mirror "
        f"(`tests/support/make_mirror.py --storm-pad-mb {config.pad_mb}`) served by "
        "`tests/support/mirror_server.py` on 127.0.0.1: Storm stand-in "
        f"`{storm['path'].rsplit('/', 1)[1]}` ({storm['size']:,} bytes, "
        f"{config.pad_mb} MiB of it incompressible), ZooKeeper stand-in "
        f"`{zk['path'].rsplit('/', 1)[1]}` ({zk['size']:,} bytes), {len(wheels)} locked wheels "
        f"({wheel_bytes:,} bytes) for 9 target Pythons. Bundle `{BUNDLE}.tar`.",
        "",
        "## Targets",
        "",
        "| scenario | target | measured | result |",
        "| --- | --- | --- | --- |",
    ]
    for scenario in scenarios:
        for target in scenario.targets:
            if target.measured is None:
                shown = scenario.unavailable or "n/a"
            elif target.baseline is None:
                shown = _fmt(target.measured, scenario.series[0].unit)
            else:
                shown = f"{target.measured:.2f}x"
            lines.append(f"| {scenario.title} | {target.text} | {shown} | **{target.status}** |")
    for scenario in scenarios:
        lines += ["", f"## {scenario.title}", "", scenario.what, ""]
        if scenario.unavailable is not None:
            lines += [f"**{scenario.unavailable}**", ""]
            continue
        lines += _table(scenario)
        if scenario.notes:
            lines += ["", *[f"- {note}" for note in scenario.notes]]
    lines.append("")
    return "\n".join(lines)


def _table(scenario: Scenario) -> list[str]:
    extra = any(s.extra for s in scenario.series)
    header = "| | command | median | min | max | ours ÷ this | target | result |"
    rule = "| --- | --- | --- | --- | --- | --- | --- | --- |"
    if extra:
        header += " wall time (median) |"
        rule += " --- |"
    lines = [header, rule]
    for series in scenario.series:
        cells = [f"**{series.label}**" if series is scenario.series[0] else series.label]
        cells.append(_code(series.shown))
        cells += [_fmt(v, series.unit) for v in (series.median, *_span(series.values))]
        cells += _ratio_cell(scenario, series)
        if extra:
            seconds = series.extra.get("seconds")
            cells.append(_fmt(statistics.median(seconds), "s") if seconds else "")
        lines.append("| " + " | ".join(cells) + " |")
    for goal in scenario.targets:
        if goal.baseline is None and goal.measured is not None:
            shown = _fmt(goal.measured, scenario.series[0].unit)
            lines += ["", f"Target {goal.text}: {shown}, **{goal.status}**."]
    return lines


def _span(values: list[float]) -> tuple[float, float]:
    return min(values), max(values)


def _code(shown: str) -> str:
    return shown if "`" in shown else f"`{shown}`"


def to_json(config: Config, facts: dict[str, str], scenarios: list[Scenario]) -> dict[str, Any]:
    return {
        "quick": config.quick,
        "runs": config.runs,
        "machine": facts,
        "scenarios": [
            {
                "key": s.key,
                "title": s.title,
                "unavailable": s.unavailable,
                "series": [
                    {
                        "key": x.key,
                        "label": x.label,
                        "unit": x.unit,
                        "values": x.values,
                        "median": x.median if x.values else None,
                        "steps": x.steps,
                        "extra": x.extra,
                        "phases": x.phases,
                        "cpu": x.cpu,
                    }
                    for x in s.series
                ],
                "targets": [
                    {"text": t.text, "limit": t.limit, "measured": t.measured, "status": t.status}
                    for t in s.targets
                ],
            }
            for s in scenarios
        ],
    }


# --- main ---


@contextmanager
def workspace() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="bundler-bench-") as name:
        path = Path(name)
        # The installer's service user must be able to reach the prefix inside.
        path.chmod(0o755)
        yield path


def check_tools() -> None:
    missing = [tool for tool in TOOLS if shutil.which(tool) is None]
    if missing:
        raise BenchError(f"missing tools: {', '.join(missing)}; run `make deps`")
    if not any(WHEELHOUSE.glob("supervisor-*.whl")):
        raise BenchError(f"{WHEELHOUSE} has no wheels: run `make wheelhouse` first")


RUNNERS: dict[str, Callable[[Setting], Scenario]] = {
    "cold": cold_build,
    "slow": slow_mirror,
    "verify": verify_scenario,
    "install": install_scenario,
    "memory": memory_scenario,
}


def bench(config: Config) -> list[Scenario]:
    check_tools()
    ensure_mirrors(config)
    memory_mount = "/memory-mirror"
    with ExitStack() as stack:
        work = stack.enter_context(workspace())
        server = stack.enter_context(
            MirrorServer(
                config.mirror, wheelhouse=WHEELHOUSE, mounts={memory_mount: config.memory_mirror}
            )
        )
        slow = stack.enter_context(
            MirrorServer(
                config.mirror, wheelhouse=WHEELHOUSE, throttle_bytes_per_sec=config.throttle
            )
        )
        setting = Setting(config, work, server.url, slow.url, server.url + memory_mount)
        print("bench: priming (one untimed cold build)", file=sys.stderr)
        prime(setting)
        facts = machine()
        scenarios: list[Scenario] = []
        sizes: dict[str, int] = {}
        for key in SCENARIOS:
            if key not in config.only:
                continue
            if key == "warm":
                warm, sizes = warm_build(setting)
                scenarios.append(warm)
            elif key == "size":
                scenarios.append(bundle_size(sizes))
            else:
                scenarios.append(RUNNERS[key](setting))
        facts["load_end"] = ", ".join(f"{x:.2f}" for x in os.getloadavg())
        for scenario in scenarios:
            scenario.evaluate()
        add_notes(scenarios, setting)
        config.out.parent.mkdir(parents=True, exist_ok=True)
        config.out.write_text(render(config, facts, setting, scenarios))
        if config.json_out is not None:
            config.json_out.write_text(
                json.dumps(to_json(config, facts, scenarios), indent=2) + "\n"
            )
    return scenarios


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="one run, small artifacts (CI)")
    parser.add_argument("--runs", type=int, help="runs per command (default 5; quick: 1)")
    parser.add_argument(
        "--out",
        type=Path,
        help=f"report, Markdown (default {DEFAULT_OUT.relative_to(REPO)}; "
        f"with --quick {QUICK_OUT.relative_to(REPO)})",
    )
    parser.add_argument("--json", type=Path, help="also write the raw numbers here")
    parser.add_argument(
        "--only",
        help=f"comma list of scenarios to run ({','.join(SCENARIOS)}); needs --out",
    )
    args = parser.parse_args(argv)
    only = frozenset(SCENARIOS)
    if args.only is not None:
        only = frozenset(args.only.split(","))
        if not only <= set(SCENARIOS):
            parser.error(f"--only: expected names from {', '.join(SCENARIOS)}")
        if args.out is None or args.out.resolve() == DEFAULT_OUT:
            parser.error(f"--only makes a partial report: pass --out, not {DEFAULT_OUT}")
        if "size" in only:
            only |= {"warm"}
    runs = args.runs if args.runs is not None else (1 if args.quick else 5)
    if runs < 1:
        parser.error("--runs must be 1 or more")
    config = Config(
        quick=args.quick,
        runs=runs,
        pad_mb=QUICK_PAD_MB if args.quick else FULL_PAD_MB,
        memory_pad_mb=QUICK_MEMORY_PAD_MB if args.quick else FULL_MEMORY_PAD_MB,
        throttle=THROTTLE,
        out=(args.out or (QUICK_OUT if args.quick else DEFAULT_OUT)).resolve(),
        json_out=args.json.resolve() if args.json else None,
        only=only,
    )
    started = time.perf_counter()
    try:
        scenarios = bench(config)
    except BenchError as error:
        print(f"bench: error: {error}", file=sys.stderr)
        return 1
    for scenario in scenarios:
        for target in scenario.targets:
            shown = "" if target.measured is None else f" ({target.measured:.2f})"
            print(f"{scenario.title}: {target.text}: {target.status}{shown}", file=sys.stderr)
    print(f"bench: done in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    print(config.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
