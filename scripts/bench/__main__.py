"""Benchmarks: bundler against what an operator would do by hand, on the same bytes, in one run.

    python scripts/bench [--quick] [--runs N] [--out FILE] [--json FILE] [--only a,b]

Serves the bench mirror (tests/support/make_mirror.py with a Storm stand-in carrying incompressible
padding) on 127.0.0.1 with tests/support/mirror_server.py and times each scenario against its
baselines. Runs are interleaved (ours, baseline, limit, ours, ...) so that load drift hits every
command alike; the report gives median, min and max per command and the ratio of medians that
each target of issue 15 is about. `--quick` (CI) does one run with small artifacts into
build/benchmarks-quick.md: it keeps the script working, its numbers mean nothing. The bench
mirrors are built once under build/ (the 1 GiB one for the memory scenario takes minutes).

Parts: measure.py (timing), setting.py (mirrors, servers, the primed build), scenarios.py,
report.py.
"""

from __future__ import annotations

import argparse
import compileall
import json
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

# Run as `python scripts/bench`: the repository must be importable (scripts is its package).
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from scripts.bench.measure import BenchError, Scenario
from scripts.bench.report import add_notes, machine, render, to_json
from scripts.bench.scenarios import RUNNERS, bundle_size, profile_cold, warm_build
from scripts.bench.setting import (
    DEFAULT_OUT,
    FULL_MEMORY_PAD_MB,
    FULL_PAD_MB,
    MEMORY_SPLIT_RATE,
    QUICK_MEMORY_PAD_MB,
    QUICK_OUT,
    QUICK_PAD_MB,
    REPO,
    SCENARIOS,
    THROTTLE,
    TOOLS,
    WHEELHOUSE,
    Config,
    MirrorServer,
    Setting,
    ensure_mirrors,
    prime,
)


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


def bench(config: Config) -> list[Scenario]:
    check_tools()
    # As `pip install` does: an installed bundler starts from bytecode. An editable checkout
    # run with PYTHONDONTWRITEBYTECODE set would compile every module at every start instead.
    compileall.compile_dir(REPO / "bundler", quiet=1)
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
        split = stack.enter_context(
            MirrorServer(
                config.mirror,
                throttle_bytes_per_sec=MEMORY_SPLIT_RATE,
                mounts={memory_mount: config.memory_mirror},
            )
        )
        setting = Setting(
            config, work, server.url, slow.url, server.url + memory_mount, split.url + memory_mount
        )
        print("bench: priming (one untimed cold build)", file=sys.stderr)
        prime(setting)
        if "cold" in config.only:
            print("bench: profiling one cold build", file=sys.stderr)
            profile_cold(setting)
        facts = machine()
        scenarios: list[Scenario] = []
        sizes: dict[str, int] = {}
        for key in SCENARIOS:
            if key not in config.only:
                continue
            # Each scenario starts with no write-back left from the one before competing with it.
            os.sync()
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
