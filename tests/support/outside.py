"""The scan for what reaches outside the repository root: a path into the `shared` folder beside
the clone or its `reference` folder, a path built from `__file__` that climbs above the root, a
`../` climb in shell, make and CI files, a machine-specific folder in the docs. Every tracked
file is scanned in tests/integration/test_self_contained.py; the scan's own cases are in
tests/unit/test_self_contained.py."""

from __future__ import annotations

import re
from pathlib import PurePosixPath

# A reference to the reading-material folder that sat beside the repository.
SHARED = re.compile(
    r"\.\./shared\b"
    r"|shared/reference"
    r"|\.parents?(\[\d+\])?(\.parent)*\s*/\s*[\"']shared[\"']"
    r"|[\"']shared[\"']\s*/\s*[\"']reference[\"']"
)
# NAME = Path(__file__)<.resolve()><.parent...|.parents[N]>
FROM_FILE = re.compile(
    r"^\s*(?P<name>[A-Za-z_]\w*)\s*=\s*Path\(\s*(?:os\.path\.\w+\()?__file__\)?\s*\)"
    r"(?:\.resolve\(\)|\.absolute\(\))?(?P<climb>(?:\.parent\b|\.parents\[\d+\])*)",
    re.M,
)
# An expression climbing from a name or from Path(__file__) directly.
CLIMB = re.compile(
    r"(?P<base>\b[A-Za-z_]\w*|Path\(__file__\)(?:\.resolve\(\)|\.absolute\(\))?)"
    r"(?P<climb>(?:\.parent\b|\.parents\[\d+\])+)"
)
DOTDOTS = re.compile(r"(?:\.\./)+|(?:/\.\.)+(?=[\s\"'/)]|$)")
MACHINE_PATHS = re.compile(r"/wor[k]/|/roo[t]/|/home/\w+/\.pyenv")
SHELLISH = (".sh", ".mk", ".cfg", ".toml", ".yml", ".yaml")


def _levels(climb: str) -> int:
    """How many folders `.parent.parents[1]...` climbs."""
    levels = 0
    for step in re.findall(r"\.parent\b|\.parents\[(\d+)\]", climb):
        levels += int(step) + 1 if step else 1
    # findall gives "" for `.parent` and the index for `.parents[N]`.
    return levels


def escapes(rel: str, text: str) -> list[str]:
    """The lines of file `rel` (a repository-relative posix path) that reach outside the root."""
    found = []
    depth = len(PurePosixPath(rel).parts) - 1  # folders between the root and this file
    name = PurePosixPath(rel).name
    lines = text.splitlines()
    for number, line in enumerate(lines, 1):
        if SHARED.search(line):
            found.append(f"{rel}:{number}: {line.strip()}")
    if rel.endswith(".py"):
        # Names bound to a folder found from __file__, and how far below the root each is.
        below = {"__file__": depth + 1}  # the file itself counts as one level to climb out of
        for match in FROM_FILE.finditer(text):
            below[match["name"]] = depth + 1 - _levels(match["climb"])
        for number, line in enumerate(lines, 1):
            for match in CLIMB.finditer(line):
                base = match["base"]
                start = below["__file__"] if base.startswith("Path(__file__)") else below.get(base)
                if start is not None and start - _levels(match["climb"]) < 0:
                    found.append(f"{rel}:{number}: {line.strip()}")
    elif rel.endswith(SHELLISH) or name in ("Makefile", "run") or "/" not in rel:
        for number, line in enumerate(lines, 1):
            for match in DOTDOTS.finditer(line):
                if match[0].count("..") > depth:
                    found.append(f"{rel}:{number}: {line.strip()}")
    if rel.endswith(".md"):
        for number, line in enumerate(lines, 1):
            if MACHINE_PATHS.search(line):
                found.append(f"{rel}:{number}: {line.strip()}")
    return found
