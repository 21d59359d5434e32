"""The CLI starts without its heavy parts: `bundler --help`, `--version`, `recipes`, `verify`
and `inspect` do not import requests, tqdm or the build machinery (issue 15's fast start).

Each case runs in a fresh interpreter and lists what ended up in sys.modules; no timing is
asserted (docs/benchmarks.md measures the time)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# pydantic: typer 0.29 and later coerce options through it (pyproject.toml keeps typer below).
HEAVY = (
    "requests",
    "urllib3",
    "tqdm",
    "pydantic",
    "bundler.pack.build",
    "bundler.fetch.mirrors",
    "bundler.fetch.http",
)

PROBE = """
import json, sys
sys.argv = ["bundler"] + json.loads(sys.argv[1])
code = None
if sys.argv[1:] != ["--import-only"]:
    from bundler.cli.entry import main  # the console script's entry point
    try:
        main()
    except SystemExit as exc:
        code = exc.code
else:
    import bundler.cli.app
print(json.dumps({"code": code, "modules": sorted(sys.modules)}), file=sys.stderr)
"""


def _modules(args: list[str]) -> tuple[object, set[str]]:
    proc = subprocess.run(
        [sys.executable, "-c", PROBE, json.dumps(args)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    last = proc.stderr.strip().splitlines()[-1]
    result = json.loads(last)
    return result["code"], set(result["modules"])


@pytest.mark.parametrize(
    "args",
    [
        ["--import-only"],
        ["--help"],
        ["--version"],
        ["build", "--help"],
        ["recipes"],
        ["verify", "no-such-bundle.tar"],
    ],
    ids=["import", "help", "version", "build-help", "recipes", "verify"],
)
def test_light_commands_skip_the_heavy_imports(args: list[str]) -> None:
    code, modules = _modules(args)
    assert code in (None, 0, 2, 4), code  # ran (verify of a missing file fails cleanly)
    assert "bundler.cli.app" in modules or args in (["--help"], ["--version"])
    assert not modules & set(HEAVY), sorted(modules & set(HEAVY))


def test_inspect_skips_the_heavy_imports(tmp_path: Path) -> None:
    code, modules = _modules(["inspect", str(tmp_path / "missing.tar")])
    assert code not in (None, 0)
    assert not modules & set(HEAVY), sorted(modules & set(HEAVY))


def test_help_and_version_skip_packaging_too() -> None:
    for args in (["--help"], ["--version"]):
        _, modules = _modules(args)
        assert "packaging" not in modules and "bundler.recipes.recipes" not in modules, args


@pytest.mark.parametrize("args", [[], ["--help"], ["--version"]], ids=["none", "help", "version"])
def test_the_overview_and_version_start_without_typer(args: list[str]) -> None:
    """bundler.cli.entry answers these three alone (tests/unit/test_entry.py checks its text)."""
    code, modules = _modules(args)
    assert code == 0
    assert "typer" not in modules and "bundler.cli.app" not in modules, sorted(modules)


def test_the_probe_sees_imports() -> None:
    """The check above can fail: importing the build machinery does load the fetcher."""
    proc = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; import bundler.pack.build; print('bundler.fetch.mirrors' in sys.modules)",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert proc.stdout.strip() == "True"


def test_a_build_parses_its_options_without_pydantic_or_requests(tmp_path: Path) -> None:
    """Option parsing and the checks before the first request need neither."""
    code, modules = _modules(
        ["build", "--storm", "0.0.1", "--zk", "3.4.6", "--cache-dir", str(tmp_path / "c")]
    )
    assert code == 2, code  # the version is refused before anything is fetched
    assert "bundler.pack.build" in modules
    assert not modules & {"pydantic", "requests", "urllib3", "tqdm"}, sorted(modules)
