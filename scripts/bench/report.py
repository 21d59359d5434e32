"""The report: notes on why a target is missed, the machine it ran on, Markdown and JSON."""

from __future__ import annotations

import datetime
import os
import platform
import re
import statistics
from collections.abc import Callable
from typing import Any

from scripts.bench.measure import MB, Scenario, Series, Target, output
from scripts.bench.setting import BUNDLE, REPO, Config, Setting


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
        + f". Of the first, {setting.startup:.2f} s is the interpreter starting, importing and "
        "parsing the options (the fastest of five `bundler build` runs that stop at their first "
        "check)."
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
    rates = setting.rates
    notes = [
        _phases_line(ours, setting),
        _steps_line(series["by_hand"]),
        _steps_line(series["limit"]),
        _steps_line(series["limit_sync"]),
        _cpu_line([ours, series["by_hand"], series["limit"]], setting),
        f"Ours is {ours.median / series['limit_sync'].median:.2f}x the durable limit (the same "
        "curl and `tar cf`, then `sync -d` of the archive, as ours fsyncs the bundle before "
        "renaming it into place).",
        f"gpg checks the Storm tarball's signature in {setting.gpg['framed']:.2f} s when it is "
        "fed the download framed as a signed message, as the build does, and in "
        f"{setting.gpg['detached']:.2f} s when given the file beside its detached signature: "
        "gpg 2.2 hashes a detached signature's file one byte at a time (bundler/fetch/openpgp.py). "
        f"The tar-header check inflates with zlib-ng at {rates['inflate (zlib-ng)']:,.0f} MB/s; "
        f"the system zlib manages {rates['inflate (system zlib)']:,.0f} MB/s on these bytes.",
    ]
    if not missed:
        return notes
    storm = setting.storm_size
    check_cpu = sum(storm / MB / rates[name] for name in ("sha256", "sha512", "inflate (zlib-ng)"))
    archive_cpu = setting.bundle_size / MB / rates["sha256"]
    ours_cpu = statistics.median(ours.cpu["command"])
    limit_cpu = statistics.median(series["limit"].cpu["command"])
    notes.append(
        f"Why {_which(missed)} missed: on these {setting.cores} cores the cold build is bound "
        f"by CPU, not by the loopback: ours spends {ours_cpu:.1f} CPU-seconds a run where "
        f"curl and `tar cf` spend {limit_cpu:.1f}. Every byte is read once, and while it "
        f"streams in, the {_mb(storm)} Storm tarball is hashed with sha256 (for the manifest) "
        "and sha512 (Apache's published checksum), inflated to check every tar header, and "
        f"fed to gpg: at this CPU's rates ({_rates(setting)}) the hashes and the inflate are "
        f"{check_cpu:.1f} CPU-seconds, and gpg's check {setting.gpg['framed']:.1f} s more. The "
        "same bytes go into the bundle as they arrive, so the disk writes them during the "
        "download; once it is over, the archive is read back for its sha256 "
        f"({archive_cpu:.2f} CPU-s) and Storm's own hash, and the other members are copied by "
        "the kernel without a second hash (verified seconds earlier, their stat unchanged); "
        f"`tar cf` neither hashes nor fsyncs. The start takes {setting.startup:.2f} s."
    )
    if setting.cores < 4:
        notes.append(
            "What would close it: more cores. The hashes, the tar check and gpg already run on "
            "threads and a process of their own, so with 4 or more cores they overlap the "
            f"transfer instead of sharing {setting.cores} with it; dropping any of them is not "
            "an option (each is a check the issue keeps)."
        )
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
    cf, durable = series["tar_cf"].median, series["tar_cf_sync"].median
    notes = [
        _phases_line(series["ours"], setting),
        _cpu_line([series["ours"], series["tar_cf"]], setting),
        f"`--format tar.gz` takes {gz / ours:.1f}x as long as the default `tar` for the "
        "bundle-size gain shown under Bundle size; gzip over an already compressed payload is "
        f"also where `tar czf` spends its {czf:.2f} s. Hence the default: plain ustar, which "
        "every old `tar` unpacks with no zstd, not even gzip, needed.",
        f"Putting the archive on the disk is most of a durable write here: `tar cf` + `sync -d` "
        f"takes {durable:.2f} s, {durable / cf:.1f}x `tar cf` alone; ours is "
        f"{ours / durable:.2f}x that durable limit.",
    ]
    if missed:
        rehash = setting.bundle_size / MB / setting.rates["sha256"]
        notes.append(
            f"Why {_which(missed)} missed: `tar cf` copies bytes into the page cache and "
            "returns; ours also waits until the archive is on the disk before it renames it "
            "into place (the durable limit above), starts Python and parses its options "
            f"({setting.startup:.2f} s), stats every cache entry against its record (the "
            "cache's hash is trusted while the fingerprint holds), and reads every member back "
            "once to hash it against its record and for the archive's sha256 (two sha256 on "
            f"two threads, {rehash:.2f} CPU-s each at this CPU's rate). The member hash stays: "
            "it is what catches rot that leaves the stat unchanged "
            "(tests/integration/test_faults.py); the fsync stays too: without it a crash soon "
            "after the build can leave a renamed but empty bundle. What would close it: a disk "
            "that writes as fast as the page cache copies; nothing that keeps both checks."
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
    notes = [
        _steps_line(series["by_hand"]),
        "Ours installs supervisord's locked wheels by unpacking them (each checked against the "
        "lock's sha256 and its RECORD, then byte-compiled by the host's Python) instead of "
        "starting pip; by hand starts pip in a fresh venv, which is most of its time.",
    ]
    if missed:
        notes.append(
            "Why it is missed: besides what the by-hand way does, the installer checks every "
            "tar entry as it unpacks, finds Java and a Python, and writes every config and "
            "state file. What would close it: unpack both releases in parallel, and install "
            "the wheels while they unpack."
        )
    return notes


def _start_notes(series: dict[str, Series], missed: list[Target], setting: Setting) -> list[str]:
    ours, anchor = series["ours"].median, series["python"].median
    command = series["command"].median
    notes = [
        f"`bundler --help` spends {ours - anchor:.3f} s beyond the bare interpreter's "
        f"{anchor:.3f} s; `bundler build --help` {command - anchor:.3f} s, most of it importing "
        "typer (its bundled click) and building the commands from their signatures; "
        f"`bundler build`, which also parses its options and imports the build machinery, "
        f"starts in {setting.startup:.2f} s (the phases lines above)."
    ]
    if missed:
        notes.append(
            "Why it is missed: the interpreter's own start (the anchor) is most of it on a "
            "machine this loaded; the overview imports no more than bundler/cli/entry.py and "
            "textwrap. What would close it: a less loaded machine."
        )
    return notes


def _memory_notes(series: dict[str, Series], missed: list[Target], setting: Setting) -> list[str]:
    ours, split = series["ours"], series["split"]
    notes = [
        _phases_line(ours, setting),
        _phases_line(split, setting),
        "Every stage streams in 1 MiB chunks through bounded queues; small reads (the throttled "
        "mirror's) are joined into 1 MiB before they are handed between threads "
        "(bundler/fetch/fanout.py), and the heap's free pages are given back every 32 MiB handed "
        "over (bundler/fetch/heap.py). Measured on a 2-core machine when those two were added "
        "(commit 44b5e7e): the split download peaked at 106 to 138 MB before, 72 to 78 MB "
        "after; the plain one at 70 to 76 MB before, 66 to 71 MB after.",
    ]
    if missed:
        notes.append(
            "Why it is missed: some buffer grows with the file or the heap keeps what threads "
            "freed. What would close it: a heap profile (tracemalloc, and glibc's malloc_info) "
            "of the worst run."
        )
    return notes


NOTES: dict[str, Callable[[dict[str, Series], list[Target], Setting], list[str]]] = {
    "cold": _cold_notes,
    "slow": _slow_notes,
    "warm": _warm_notes,
    "start": _start_notes,
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
        return f"{value:.3f} s" if value < 1 else f"{value:.2f} s"
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
        "Generated by `scripts/bench` (`make bench`); do not edit by hand.",
        "",
        f"Reproduce: `{command}`, as root for the install scenario (or "
        f"`.venv/bin/python scripts/bench{' --quick' if config.quick else ''} "
        f"--runs {config.runs}`). `make bench QUICK=1` is the seconds-long check CI runs; it "
        "writes build/benchmarks-quick.md.",
        "",
        f"- Machine: {facts['cores']} cores ({facts['cpu']}), {facts['memory']} RAM, "
        f"{facts['kernel']}",
        f"- Python: {facts['python']}; bundler's modules byte-compiled first, as `pip install` "
        "does",
        f"- Tools: {facts['tools']}",
        f"- Date: {facts['date']}, bundler at commit {facts['commit']}",
        f"- Load average (1, 5, 15 min): {facts['load']} at the start, {facts['load_end']} at "
        "the end (other work on the machine shows up as a wider min to max)",
        f"- Runs: {runs}, interleaved (ours, baseline, limit, ours, ...); median, min and max "
        "per command; ratios are of medians (ours ÷ baseline).",
        "- Inputs: the bench mirror "
        f"(`tests/support/make_mirror.py --storm-pad-mb {config.pad_mb}`) served by"
        " `tests/support/mirror_server.py` on 127.0.0.1: Storm stand-in "
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
        if scenario.key == "cold" and setting.profile:
            lines += _profile(setting)
    lines.append("")
    return "\n".join(lines)


def _profile(setting: Setting) -> list[str]:
    from scripts.bench.scenarios import PROFILE_LABELS

    lines = [
        "",
        "### Profile of one cold build",
        "",
        "cProfile in every thread of one more cold build (scripts/bench/threadprof.py; the "
        "profiler slows Python code, not the C calls below): the functions with the most own "
        "time, summed over the threads, leaving out the time threads spend waiting for each "
        "other (locks, queues, poll). gpg's own digest runs in its process and is not in it.",
        "",
        "| function | calls | seconds | what it is |",
        "| --- | --- | --- | --- |",
    ]
    for name, calls, seconds in setting.profile:
        label = next((text for key, text in PROFILE_LABELS if key in name), "")
        lines.append(f"| `{name}` | {calls:,} | {seconds:.2f} | {label} |")
    return lines


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
