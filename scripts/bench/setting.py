"""The setting every scenario runs in: the bench mirrors and their servers, the build's
command line, and one untimed cold build whose cache, bundle and file list the scenarios use."""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import subprocess
import sys
import tarfile
import time
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from scripts.bench.measure import ENV, MB, BenchError, Step, fresh, run

SCRIPTS_DIR = Path(__file__).resolve().parents[1]
REPO = SCRIPTS_DIR.parent

# The test mirror's tools (tests.support, importable from the repository root __main__ adds).
MAKE_MIRROR = "tests.support.make_mirror"
from bundler.fetch.checksums import for_file, strongest  # noqa: E402
from bundler.fetch.signatures import Keyring  # noqa: E402
from tests.support.make_mirror import mirror_is_current  # noqa: E402
from tests.support.mirror_server import MirrorServer as MirrorServer  # noqa: E402  (used by __main__)

STORM = "0.9.5"
ZOOKEEPER = "3.4.6"
BUNDLE = f"storm-{STORM}-zk-{ZOOKEEPER}"
STORM_DIR = f"storm/apache-storm-{STORM}"
ZK_DIR = f"zookeeper/zookeeper-{ZOOKEEPER}"
WHEELHOUSE = REPO / "build" / "wheelhouse"
DEFAULT_OUT = REPO / "docs" / "benchmarks.md"
# Quick numbers mean nothing: they never replace the committed report.
QUICK_OUT = REPO / "build" / "benchmarks-quick.md"
# Sizes in MiB of the Storm stand-in's padding, as make_mirror counts them.
FULL_PAD_MB = 300
FULL_MEMORY_PAD_MB = 1024
QUICK_PAD_MB = 20
QUICK_MEMORY_PAD_MB = 50
THROTTLE = 10 * MB  # bytes per second per connection, for the slow mirror
MEMORY_TARGET_MB = 100.0
MEMORY_SPLIT_RATE = 150 * MB  # per connection: a 1 GiB download splits (HttpConfig.slow_seconds)
TOOLS = ("curl", "tar", "gzip", "sha512sum", "sha1sum", "sha256sum", "gpg", "sync")
TIME_BIN = Path("/usr/bin/time")
# In report order; "size" reads what "warm" wrote.
SCENARIOS = ("cold", "slow", "warm", "start", "verify", "install", "memory", "size")


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
            argv = [sys.executable, "-m", MAKE_MIRROR, "--out", str(path)]
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
        "--apache-keys",
        str(mirror / "keys" / "KEYS"),
        "--no-pins",
        "--index-url",
        index or f"{url}/simple",
        "--cache-dir",
        str(cache),
        "--out",
        str(out),
        *extra,
    )


BUILD_SHOWN = (
    f"bundler build --storm {STORM} --zk {ZOOKEEPER} --mirror $MIRROR --no-default-mirrors "
    "--apache-keys KEYS --no-pins --index-url $MIRROR/simple --cache-dir CACHE --out OUT"
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
    memory_split_url: str  # the same, throttled per connection so that the download splits
    bundle: Path = Path()  # the primed bundle .tar
    unpacked: Path = Path()  # its folder, unpacked
    manifest: dict[str, Any] = field(default_factory=dict)
    remotes: list[Remote] = field(default_factory=list)
    sums: dict[str, Path] = field(default_factory=dict)  # checksum file per tool, coreutils format
    startup: float = 0.0  # median wall time of a build that stops at its first check
    profile: list[tuple[str, int, float]] = field(default_factory=list)  # (function, calls, s)
    rates: dict[str, float] = field(default_factory=dict)  # MB/s of this CPU, one core
    gpg: dict[str, float] = field(default_factory=dict)  # seconds to check the Storm signature

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
    # The fastest of five: the start is short, and a busy machine stretches single runs.
    setting.startup = min(start_of_build(setting) for _ in range(5))
    storm = next(a for a in setting.manifest["artifacts"] if a["component"] == "storm")
    setting.rates = cpu_rates(setting.unpacked / BUNDLE / storm["path"])
    setting.gpg = gpg_times(setting, storm)


def start_of_build(setting: Setting) -> float:
    """Wall time of `bundler build` up to its first check (--jobs 0 is refused there): the
    interpreter, the imports and the option parsing every build pays."""
    argv = build_argv(setting.url, setting.config.mirror, setting.work / "c", setting.work / "o")
    start = time.perf_counter()
    subprocess.run([*argv, "--jobs", "0"], env=ENV, capture_output=True, check=False)
    return time.perf_counter() - start


def cpu_rates(tarball: Path) -> dict[str, float]:
    """One core's throughput, in MB/s, at what a build does to each byte of a tarball."""
    from zlib_ng import zlib_ng

    with open(tarball, "rb") as handle:
        data = handle.read(64 << 20)
    rates = {}
    for name in ("sha256", "sha512", "sha1"):
        start = time.perf_counter()
        hashlib.new(name, data).digest()
        rates[name] = len(data) / MB / (time.perf_counter() - start)
    for name, inflater in (("inflate (zlib-ng)", zlib_ng), ("inflate (system zlib)", zlib)):
        # 1 MiB at a time, as the tar check is fed: one call for all of it would mostly
        # measure the growth of its output buffer.
        start = time.perf_counter()
        inflate = inflater.decompressobj(wbits=31)
        for at in range(0, len(data), 1 << 20):
            inflate.decompress(data[at : at + (1 << 20)])
        rates[name] = len(data) / MB / (time.perf_counter() - start)
    return rates


def gpg_times(setting: Setting, storm: dict[str, Any]) -> dict[str, float]:
    """Seconds gpg takes to check the Storm tarball's signature: given the file beside a
    detached signature, and fed it framed as a signed message, as the build does."""
    tarball = setting.unpacked / BUNDLE / storm["path"]
    asc = next(
        setting.unpacked / BUNDLE / s for s in storm["sidecars"] if s.endswith((".asc", ".sig"))
    )
    with Keyring([setting.config.mirror / "keys" / "KEYS"], "gpg") as ring:
        start = time.perf_counter()
        ring.verify(asc, tarball, tarball.name)
        detached = time.perf_counter() - start
        start = time.perf_counter()
        stream = ring.stream(asc, tarball.name)
        with open(tarball, "rb", buffering=0) as handle:
            while chunk := handle.read(1 << 20):
                stream.feed(chunk)
        stream.finish()
        framed = time.perf_counter() - start
    return {"detached": detached, "framed": framed}


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
