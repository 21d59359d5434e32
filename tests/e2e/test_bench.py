"""`scripts/bench --quick` keeps working: it writes a report with every scenario and sane
numbers. No timing is asserted; the numbers of one quick run mean nothing."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SCENARIOS = {
    "cold": ("Cold build (empty cache)", {"ours", "by_hand", "limit", "limit_sync"}),
    "slow": ("Cold build from a slow mirror", {"ours", "by_hand"}),
    "warm": (
        "Warm build (everything cached)",
        {"ours", "ours_gz", "tar_czf", "tar_cf", "tar_cf_sync"},
    ),
    "start": ("`bundler --help`", {"ours", "version", "command", "python"}),
    "verify": ("`bundler verify`", {"ours", "sha256sum"}),
    "install": ("`install.sh --no-start` on the target", {"ours", "by_hand", "tar_xzf"}),
    "memory": ("Peak memory of a cold build", {"ours", "split"}),
    "size": ("Bundle size", {"ours", "tar_czf", "ours_gz", "tar_cf"}),
}


def test_quick_bench_writes_every_scenario(wheelhouse: Path, tmp_path: Path) -> None:
    report, raw = tmp_path / "benchmarks.md", tmp_path / "benchmarks.json"
    proc = subprocess.run(
        [sys.executable, "scripts/bench", "--quick", "--out", report, "--json", raw],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.strip() == str(report)
    text = report.read_text()
    data = json.loads(raw.read_text())

    assert data["quick"] is True and data["runs"] == 1
    for fact in ("cores", "cpu", "python", "date"):
        assert data["machine"][fact], fact
        assert data["machine"][fact] in text
    # The report is committed: it names no folder of the machine it ran on.
    assert str(ROOT) not in text and sys.executable not in text
    assert "make bench QUICK=1" in text

    scenarios = {s["key"]: s for s in data["scenarios"]}
    assert set(scenarios) == set(SCENARIOS)
    for key, (title, series_keys) in SCENARIOS.items():
        scenario = scenarios[key]
        assert scenario["title"].startswith(title)
        assert f"## {scenario['title']}" in text
        for target in scenario["targets"]:
            assert f"| {scenario['title']} | {target['text']} |" in text
        if scenario["unavailable"] is not None:
            # Only the installer may be missing (not root); the report says why.
            assert key == "install", scenario
            assert scenario["unavailable"].startswith("not available: ")
            assert scenario["unavailable"] in text
            assert {t["status"] for t in scenario["targets"]} == {"not available"}
            continue
        assert {s["key"] for s in scenario["series"]} == series_keys
        for series in scenario["series"]:
            assert len(series["values"]) == 1, series
            assert all(math.isfinite(v) and v > 0 for v in series["values"]), series
            assert series["median"] == series["values"][0]
            assert f"| {series['label']} |" in text or f"| **{series['label']}** |" in text
        for target in scenario["targets"]:
            assert target["status"] in ("met", "missed"), target
            assert target["measured"] > 0

    assert scenarios["memory"]["series"][0]["unit"] == "MB"
