"""Where and how supervisord's wheels are fetched: pip's own settings.

We ask the running interpreter's pip (`python -m pip config list`), which reads the same
files in the same order as `pip install` (global, user, site, then PIP_CONFIG_FILE, with
PIP_CONFIG_FILE=os.devnull skipping them all) and the PIP_* variables. Sections rank as pip
ranks them for `pip install`: [global] < [install] < environment.

Honoured: where (index-url, extra-index-url, find-links, no-index; the command line's
--index-url and --find-links replace those four) and how (cert, client-cert, trusted-host,
proxy, timeout, retries; credentials in the URLs, else ~/.netrc, as requests reads it for
pip). A setting that would change where or how pip fetches and that we cannot follow is
named in a warning; the rest (constraint, cache-dir...) play no part in taking locked wheels.
"""

from __future__ import annotations

import ast
import os
import subprocess
import sys
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace

from bundler.errors import UsageError
from bundler.redact import redact

DEFAULT_INDEX = "https://pypi.org/simple"
SECTIONS = ("global", "install", ":env:")  # lowest to highest, as pip ranks them
# pip's own spellings of true (no-index = false, 0, no or off keeps the index).
_TRUE = ("1", "true", "yes", "on")
# Settings that change where or how pip fetches, which bundler does not follow, and why not.
NOT_HONOURED = {
    "keyring-provider": "credentials come from the index URL or ~/.netrc only",
    "use-feature": "pip's optional features are not used; for truststore, give the CA with cert",
}


@dataclass(frozen=True)
class IndexSettings:
    index_url: str
    extra_index_urls: tuple[str, ...] = ()
    find_links: tuple[str, ...] = ()
    origin: str = "default"  # "command line", "pip configuration" or "default"
    no_index: bool = False  # pip's no-index: the find-links only
    # How: pip's cert, client-cert, trusted-host, proxy, timeout and retries (None: unset).
    cert: str | None = None
    client_cert: str | None = None
    trusted_hosts: tuple[str, ...] = ()
    proxy: str | None = None
    timeout: float | None = None
    retries: int | None = None
    warnings: tuple[str, ...] = field(default=(), compare=False)

    def describe(self) -> str:
        parts = [] if self.no_index else [self.index_url, *self.extra_index_urls]
        parts += [f"find-links {link}" for link in self.find_links]
        return redact(", ".join(parts))

    def to_json(self) -> dict[str, object]:
        out: dict[str, object] = {
            "index_url": redact(self.index_url),
            "extra_index_urls": [redact(u) for u in self.extra_index_urls],
            "find_links": [redact(u) for u in self.find_links],
            "from": self.origin,
        }
        if self.no_index:
            out["no_index"] = True
        for key, value in (
            ("cert", self.cert),
            ("client_cert", self.client_cert),
            ("proxy", redact(self.proxy) if self.proxy else None),
            ("timeout", self.timeout),
            ("retries", self.retries),
        ):
            if value is not None:
                out[key] = value
        if self.trusted_hosts:
            out["trusted_hosts"] = list(self.trusted_hosts)
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
                name = name.replace("_", "-")
                # PIP_DEFAULT_TIMEOUT is the old spelling of timeout.
                merged["timeout" if name == "default-timeout" else name] = value
    return merged


def _number(values: Mapping[str, str], key: str, kind: Callable[[str], float]) -> float | None:
    raw = values.get(key, "").strip()
    if not raw:
        return None
    try:
        number = kind(raw)
    except ValueError:
        number = -1
    if number < 0:
        raise UsageError(
            f"pip's {key} setting is {raw!r}, expected a number of 0 or more; fix it in "
            "pip.conf or the PIP_* environment"
        )
    return number


def _warnings(values: Mapping[str, str]) -> tuple[str, ...]:
    out = []
    for key, why in NOT_HONOURED.items():
        value = values.get(key, "").strip()
        if value and value.lower() not in ("disabled", "auto"):
            out.append(f"pip's {key} = {value} is not honoured: {why}")
    return tuple(out)


def from_values(values: Mapping[str, str]) -> IndexSettings:
    index = values.get("index-url", "").strip()
    extras = tuple(values.get("extra-index-url", "").split())
    links = tuple(values.get("find-links", "").split())
    no_index = values.get("no-index", "").strip().lower() in _TRUE
    retries = _number(values, "retries", int)
    how = IndexSettings(
        DEFAULT_INDEX,
        cert=values.get("cert", "").strip() or None,
        client_cert=values.get("client-cert", "").strip() or None,
        trusted_hosts=tuple(values.get("trusted-host", "").split()),
        proxy=values.get("proxy", "").strip() or None,
        timeout=_number(values, "timeout", float),
        retries=None if retries is None else int(retries),
        warnings=_warnings(values),
    )
    if not (index or extras or links or no_index):
        return how
    return _where(how, index or DEFAULT_INDEX, extras, links, "pip configuration", no_index)


def _where(
    how: IndexSettings,
    index: str,
    extras: tuple[str, ...],
    links: tuple[str, ...],
    origin: str,
    no_index: bool = False,
) -> IndexSettings:
    return replace(
        how,
        index_url=index,
        extra_index_urls=extras,
        find_links=links,
        origin=origin,
        no_index=no_index,
    )


def _from_environment(env: Mapping[str, str]) -> dict[str, str]:
    """PIP_* alone, for an interpreter without pip."""
    keys = "index-url extra-index-url find-links no-index cert client-cert trusted-host proxy"
    found = {key: env.get("PIP_" + key.upper().replace("-", "_"), "") for key in keys.split()}
    found["timeout"] = env.get("PIP_TIMEOUT") or env.get("PIP_DEFAULT_TIMEOUT", "")
    found["retries"] = env.get("PIP_RETRIES", "")
    return {key: value for key, value in found.items() if value}


def pip_settings(
    python: str = sys.executable, env: Mapping[str, str] | None = None
) -> IndexSettings:
    """The settings pip itself would use, asked of `python -m pip`."""
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
    """pip's settings, with the command line's index and find-links in place of pip's own
    when it gives either."""
    settings = pip_settings()
    if index_url is None and not find_links:
        return settings
    return _where(settings, index_url or DEFAULT_INDEX, (), tuple(find_links), "command line")


class Lazy:
    """The settings, asked of pip the first time a wheel is not in the cache: a warm build
    starts no pip."""

    def __init__(self, index_url: str | None, find_links: list[str]) -> None:
        self._args = (index_url, find_links)
        self._lock = threading.Lock()
        self.value: IndexSettings | None = None

    def get(self) -> IndexSettings:
        with self._lock:
            if self.value is None:
                self.value = resolve(*self._args)
            return self.value
