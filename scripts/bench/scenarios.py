"""The scenarios: each times bundler against what an operator would do by hand (and against
the limit, where one is known) on the same bytes, and says what target it is held to."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from scripts.bench.measure import (
    ENV,
    MB,
    BenchError,
    Procedure,
    Scenario,
    Series,
    Step,
    Target,
    fresh,
    gone,
    measure,
    output,
    run,
)
from scripts.bench.setting import (
    BUILD_PHASES,
    BUILD_SHOWN,
    BUNDLE,
    MEMORY_SPLIT_RATE,
    MEMORY_TARGET_MB,
    TIME_BIN,
    Setting,
    build_argv,
    bundler_cli,
    checksum_steps,
    curl_each,
)


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
            Target("<= 0.2x by hand", 0.2, "by_hand"),
            Target("<= 1.5x the limit", 1.5, "limit"),
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
        # Ours fsyncs the bundle before renaming it into place; the same limit, made durable.
        Procedure(
            "limit_sync",
            "durable limit",
            f"the limit, then `sync -d {BUNDLE}.tar`",
            [
                Step("curl", ("curl", "-fsS", "--remote-name-all", *urls), limit_files),
                Step("tar cf", ("tar", "cf", f"{BUNDLE}.tar", BUNDLE), limit_dir),
                Step("sync -d", ("sync", "-d", f"{BUNDLE}.tar"), limit_dir),
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
        "copied by the kernel and read back once to hash it against the cache record and for the "
        "archive's sha256; the archive is fsynced). The baselines archive the same payload, "
        "the unpacked bundle folder, with GNU tar (no fsync; the durable limit adds one). "
        "`--format tar.gz` is measured alongside, for the choice of the default.",
        targets=[
            Target("<= 0.15x `tar czf`", 0.15, "tar_czf"),
            Target("<= 1.5x `tar cf` (the limit)", 1.5, "tar_cf"),
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
        # What an archive that survives a crash costs at least: the same copy, then its
        # bytes on the disk (coreutils `sync -d FILE` is one fdatasync of that file).
        Procedure(
            "tar_cf_sync",
            "`tar cf` + `sync -d` (durable limit)",
            f"`tar cf OUT.tar {BUNDLE} && sync -d OUT.tar`",
            [
                Step("tar cf", ("tar", "cf", str(cf), BUNDLE), parent),
                Step("sync -d", ("sync", "-d", str(cf)), parent),
            ],
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


# Invocations per timed run of the start-up scenario: each takes about a tenth of a second, so
# one run times them back to back and reports the mean, as hyperfine does.
START_REPEAT = 10


def start_scenario(setting: Setting) -> Scenario:
    repeat = 1 if setting.config.quick else START_REPEAT
    scenario = Scenario(
        "start",
        "`bundler --help` (start-up)",
        "The time from exec to exit of `bundler --help`"
        + (f", the mean of {repeat} invocations back to back per run," if repeat > 1 else "")
        + " against the interpreter alone (`python -c pass`, the same venv): what "
        "every command pays before it does anything. The overview and `--version` are answered "
        "before typer is imported (bundler/cli/entry.py); `bundler build --help`, shown alongside, "
        "goes through typer as every command does.",
        targets=[Target("<= 0.12 s", 0.12)],
    )
    python = sys.executable
    procedures = [
        Procedure("ours", "ours", "`bundler --help`", [Step("help", (*bundler_cli(), "--help"))]),
        Procedure(
            "version",
            "`bundler --version`",
            "`bundler --version`",
            [Step("version", (*bundler_cli(), "--version"))],
        ),
        Procedure(
            "command",
            "`bundler build --help`",
            "`bundler build --help`",
            [Step("command", (*bundler_cli(), "build", "--help"))],
        ),
        Procedure(
            "python",
            "`python -c pass` (anchor)",
            "`python -c pass`",
            [Step("python", (python, "-c", "pass"))],
        ),
    ]
    for procedure in procedures:
        procedure.steps = procedure.steps * repeat
    runs = setting.config.runs * 2 if not setting.config.quick else 1
    scenario.series = measure("start-up", procedures, runs)
    for series in scenario.series:
        series.values = [v / repeat for v in series.values]
        series.steps = {}
        series.cpu = {k: [v / repeat for v in values] for k, values in series.cpu.items()}
    scenario.notes.append(import_times())
    return scenario


def _importtime(argv: list[str]) -> dict[str, tuple[int, int]]:
    """(depth, cumulative microseconds) of each module `python -X importtime ARGV` imports:
    depth 0 is imported by the script itself, 1 by one of those, and so on."""
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", *argv],
        env=ENV,
        capture_output=True,
        text=True,
        check=False,
    )
    found: dict[str, tuple[int, int]] = {}
    for line in proc.stderr.splitlines():
        match = re.match(r"import time:\s+\d+ \|\s+(\d+) \| ( *)(\S+)", line)
        if match:
            found[match.group(3)] = (len(match.group(2)) // 2, int(match.group(1)))
    return found


def import_times() -> str:
    """Where `bundler --help` and a command's help spend their imports, beyond what the bare
    interpreter imports."""
    cli = bundler_cli()
    anchor = _importtime(["-c", "pass"])
    parts = []
    for args in (["--help"], ["build", "--help"]):
        argv = [cli[0], *args] if len(cli) == 1 else ["-m", "bundler", *args]
        extra = {n: v for n, v in _importtime(argv).items() if n not in anchor}
        total = sum(us for depth, us in extra.values() if depth == 0) / 1000
        children = [(name, us) for name, (depth, us) in extra.items() if depth == 1]
        top = sorted(children, key=lambda item: -item[1])[:3]
        shown = ", ".join(f"`{name}` {us / 1000:.0f} ms" for name, us in top)
        parts.append(f"`bundler {' '.join(args)}` {total:.0f} ms ({shown})")
    return (
        "`python -X importtime`, one run each, imports beyond `python -c pass`'s: "
        + "; ".join(parts)
        + ". requests, tqdm, packaging and the build machinery are imported only by the "
        "commands that use them (tests/integration/test_cli_startup.py checks which)."
    )


# What the hot functions of a build are, for the profile's table (matched on pstats' names).
PROFILE_LABELS = (
    ("'update' of '_hashlib.HASH'", "sha256 and sha512 of the downloads, sha256 of the archive"),
    ("'decompress' of 'zlib", "inflating each tarball for the tar-header check"),
    ("'recv_into' of '_socket", "reading the sockets"),
    ("'write' of '_io.Buffered", "writing files and gpg's stdin (blocks while gpg hashes)"),
    ("posix.fsync", "fsync of the archive and of the cache records"),
    ("posix.copy_file_range", "copying members into the archive, in the kernel"),
    ("posix.pread", "reading the archive back for its sha256"),
    ("posix.write", "Storm's bytes into the bundle as they arrive"),
    ("posix.pwrite", "writing downloaded segments"),
    ("builtins.compile", "start-up: classes and regexes built at import"),
    ("marshal.loads", "start-up: loading byte code"),
)
WAITS = ("'acquire' of '_thread.lock'", "'get' of '_queue.SimpleQueue'", "'poll' of 'select")


def profile_cold(setting: Setting) -> None:
    """One cold build under cProfile in every thread; its hottest functions go to the report."""
    import pstats

    work = setting.work / "profile"
    fresh(work)
    stats_file = work / "cold.prof"
    argv = build_argv(setting.url, setting.config.mirror, work / "cache", work / "out")
    tool = Path(__file__).resolve().parent / "threadprof.py"
    run([sys.executable, str(tool), str(stats_file), *argv[len(bundler_cli()) :]])
    stats = pstats.Stats(str(stats_file))
    rows: list[tuple[str, int, float]] = []
    for func, (_, calls, tottime, _, _) in stats.stats.items():  # type: ignore[attr-defined]
        name = func[2] if func[0] == "~" else f"{Path(func[0]).name}:{func[1]}({func[2]})"
        if any(wait in name for wait in WAITS):
            continue
        rows.append((name, calls, tottime))
    rows.sort(key=lambda row: -row[2])
    setting.profile = rows[:12]
    gone(work)


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
        targets=[Target("<= 0.6x by hand", 0.6, "by_hand")],
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
    # The installer's flags live in its Python package now, not in install.sh itself.
    flags = [installer, folder / "onhost" / "flags.py"]
    if not installer.is_file() or not any(
        f.is_file() and "--no-start" in f.read_text() for f in flags
    ):
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
                also=("split",),
            )
        ],
    )
    scenario.what += (
        f" The same build is also measured against a mirror that sends "
        f"{MEMORY_SPLIT_RATE / MB:g} MB/s per connection: for the 1024 MiB artifact slow enough "
        "for the download to be split over several connections (a quick run's small one is "
        "not), and the server hands over small reads; the target counts the worst run of both."
    )
    if not TIME_BIN.is_file():
        scenario.unavailable = (
            f"not available: {TIME_BIN} is missing (Debian: apt-get install time)"
        )
        return scenario

    def peak(key: str, label: str, shown: str, url: str) -> Procedure:
        """A cold build under `/usr/bin/time -v`, its largest resident set read from the report."""
        report = work / f"time-{key}.txt"
        argv = build_argv(
            url, config.memory_mirror, work / "cache", work / "out", index=f"{setting.url}/simple"
        )
        build = Step("build", (str(TIME_BIN), "-v", "-o", str(report), *argv), phases=BUILD_PHASES)
        return Procedure(key, label, shown, [build], prepare=lambda: fresh(work), rss_file=report)

    procedure = peak(
        "ours", "ours", f"`/usr/bin/time -v {BUILD_SHOWN}`, empty CACHE", setting.memory_url
    )
    split = peak(
        "split",
        "ours, split download",
        f"the same, from the mirror throttled to {MEMORY_SPLIT_RATE / MB:g} MB/s per connection",
        setting.memory_split_url,
    )
    scenario.series = measure(
        "memory", [procedure, split], config.runs, {"ours": "MB", "split": "MB"}
    )
    gone(work)
    return scenario


# --- notes: why a target is missed and what would close it ---


RUNNERS: dict[str, Callable[[Setting], Scenario]] = {
    "cold": cold_build,
    "slow": slow_mirror,
    "start": start_scenario,
    "verify": verify_scenario,
    "install": install_scenario,
    "memory": memory_scenario,
}
