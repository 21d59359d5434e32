"""Where supervisord's wheels come from when the command line does not say: pip's own settings.

With neither --index-url nor --find-links, a site behind a package proxy needs no flags: we
ask the running interpreter's pip (`python -m pip config list`), which reads the same files
in the same order as `pip install` (global, user, site, then PIP_CONFIG_FILE, with
PIP_CONFIG_FILE=os.devnull skipping them all) and the PIP_* variables. index-url,
extra-index-url, find-links and no-index are honoured. Sections rank as pip
ranks them for `pip install`: [global] < [install] < environment. Keys we do not use
(cert, constraint, timeout...) are ignored.
"""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass

from bundler.errors import UsageError

DEFAULT_INDEX = "https://pypi.org/simple"
SECTIONS = ("global", "install", ":env:")  # lowest to highest, as pip ranks them


@dataclass(frozen=True)
class IndexSettings:
    index_url: str
    extra_index_urls: tuple[str, ...] = ()
    find_links: tuple[str, ...] = ()
    origin: str = "default"  # "command line", "pip configuration" or "default"
    no_index: bool = False  # pip's no-index: the find-links only

    def to_json(self) -> dict[str, object]:
        out: dict[str, object] = {
            "index_url": self.index_url,
            "extra_index_urls": list(self.extra_index_urls),
            "find_links": list(self.find_links),
            "from": self.origin,
        }
        if self.no_index:
            out["no_index"] = True
        return out


def parse_config_list(text: str) -> dict[str, str]:
    """`pip config list` lines (`section.key='value'`) -> {"section.key": value}."""
    out: dict[str, str] = {}
    for line in text.splitlines():
        key, sep, raw = line.partition("=")
        if not sep or "." not in key:
            continue
        try:
            value = ast.literal_eval(raw)
        except (ValueError, SyntaxError):
            continue
        if isinstance(value, str):
            out[key.strip()] = value
    return out


def effective(items: Mapping[str, str]) -> dict[str, str]:
    """The value of each key as `pip install` sees it: later sections override earlier."""
    merged: dict[str, str] = {}
    for section in SECTIONS:
        for key, value in items.items():
            where, _, name = key.partition(".")
            if where == section:
                merged[name.replace("_", "-")] = value
    return merged


def from_values(values: Mapping[str, str]) -> IndexSettings:
    index = values.get("index-url", "").strip()
    extras = tuple(values.get("extra-index-url", "").split())
    links = tuple(values.get("find-links", "").split())
    # pip's boolean spellings; no-index = false (or 0, no, off) keeps the index.
    no_index = values.get("no-index", "").strip().lower() in ("1", "true", "yes", "on")
    if not (index or extras or links or no_index):
        return IndexSettings(DEFAULT_INDEX)
    return IndexSettings(index or DEFAULT_INDEX, extras, links, "pip configuration", no_index)


def _from_environment(env: Mapping[str, str]) -> dict[str, str]:
    """PIP_* alone, for an interpreter without pip."""
    names = {"index-url": "PIP_INDEX_URL", "extra-index-url": "PIP_EXTRA_INDEX_URL"}
    names["find-links"] = "PIP_FIND_LINKS"
    return {key: env[var] for key, var in names.items() if env.get(var)}


def pip_settings(
    python: str = sys.executable, env: Mapping[str, str] | None = None
) -> IndexSettings:
    """The index settings pip itself would use, asked of `python -m pip`."""
    environ = dict(os.environ if env is None else env)
    try:
        proc = subprocess.run(
            [python, "-m", "pip", "config", "list"],
            capture_output=True,
            text=True,
            env=environ,
            timeout=60,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise UsageError(
            f"could not ask pip for its settings ({exc}); pass --index-url or --find-links"
        ) from None
    if proc.returncode != 0:
        if "No module named pip" in proc.stderr:
            return from_values(_from_environment(environ))
        last = (proc.stderr.strip().splitlines() or ["no message"])[-1]
        raise UsageError(
            f"pip could not read its configuration ({last}); fix the pip.conf it names, or pass "
            "--index-url or --find-links"
        )
    return from_values(effective(parse_config_list(proc.stdout)))


def resolve(index_url: str | None, find_links: list[str]) -> IndexSettings:
    """The command line when it says anything, else pip's own settings."""
    if index_url is not None or find_links:
        return IndexSettings(index_url or DEFAULT_INDEX, (), tuple(find_links), "command line")
    return pip_settings()
