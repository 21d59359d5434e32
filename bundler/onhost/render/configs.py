"""Values + bundle facts -> every config file of a Storm node.

    render(manifest, values) -> [(relpath, text, mode), ...]    relpath under PREFIX, '/'-separated
    validate_values(values)                                      ValueError naming the bad key

    python -m onhost.render.configs --manifest bundle.json --values values.json --out DIR

`manifest` is the parsed bundle.json: per-version facts come from
manifest["components"]["storm"|"zookeeper"]["facts"] (recipes/*.toml). `values` has exactly the
keys of the table in docs/explanation/installer-internals.md; nothing here looks at the host,
so the same inputs give the same bytes on every Python from 2.7 to 3.13.

One module per file it writes, and this one that puts them together:

    valuecheck.py       the values' keys and their check; the manifest's facts
    zoocfg.py           zoo.cfg and the ZooKeeper ports
    stormyaml.py        storm.yaml, the heaps and worker.childopts
    supervisordconf.py  supervisord.conf and its [program:x] sections
    generated.py        the opening comment every file shares, and templates/
    configs.py          stormctl, the systemd unit, render(), write_files() and the command line

Their names are re-exported here: callers import configs alone.

Files with a fixed shape (supervisord.conf's global sections, stormctl, the systemd unit) are
string.Template skeletons in templates/, so that what lands on the host is readable in one
place. zoo.cfg, storm.yaml and the [program:x] sections are built from ordered key/value lists
instead: their keys vary with the release and the roles, and one list per file is where the
"only keys this release knows" rule is kept and tested.

Standard library only; Python 2.7 and 3.6+ (this file is copied into every bundle).
"""

from __future__ import absolute_import, division, print_function, unicode_literals

import argparse
import io
import json
import os
import sys
import tempfile

from ..contract import contract, valuecheck
from . import generated, stormyaml, supervisordconf, zoocfg

MYPY = False
if MYPY:  # types for mypy only: Python 2.7 and 3.6+ need no typing module at run time
    from typing import Any, Dict, List, Mapping, Optional, Tuple  # noqa: F401

ROLES = contract.ROLES
STORM_ROLES = contract.STORM_ROLES
# The parts' names, re-exported: the installer, the build side and the tests import configs.
HEAP_KEYS = valuecheck.HEAP_KEYS
OPTIONAL_VALUE_KEYS = valuecheck.OPTIONAL_VALUE_KEYS
VALUE_KEYS = valuecheck.VALUE_KEYS
ZK_PORT_KEYS = valuecheck.ZK_PORT_KEYS
validate_values = valuecheck.validate_values
TEMPLATES = generated.TEMPLATES
_describe = generated._describe
_header = generated._header
_template = generated._template
default_zk_ports = zoocfg.default_zk_ports
render_zoo_cfg = zoocfg.render_zoo_cfg
zk_admin_port = zoocfg.zk_admin_port
GC_JAVA8 = stormyaml.GC_JAVA8
GC_JAVA9 = stormyaml.GC_JAVA9
HEAP_DUMP = stormyaml.HEAP_DUMP
_yaml = stormyaml._yaml
heaps = stormyaml.heaps
render_storm_yaml = stormyaml.render_storm_yaml
worker_childopts = stormyaml.worker_childopts
PROGRAMS = supervisordconf.PROGRAMS
PROGRAM_NAMES = supervisordconf.PROGRAM_NAMES
STARTRETRIES = supervisordconf.STARTRETRIES
STARTSECS = supervisordconf.STARTSECS
STOP_POLICY = supervisordconf.STOP_POLICY
SUPERVISORD_HTTP_PORT = supervisordconf.SUPERVISORD_HTTP_PORT
WEB_USERNAME = supervisordconf.WEB_USERNAME
programs = supervisordconf.programs
render_supervisord_conf = supervisordconf.render_supervisord_conf


def render_stormctl(manifest, values):
    title = "stormctl for the Storm node under %s" % values["prefix"]
    return _template(
        "stormctl.in",
        header="\n".join(_header("#", title, manifest)),
        program_names=" ".join(name for _, name, _ in programs(values)),
        prefix=values["prefix"],
        python=values["python"],
        site_dir=values["site_dir"],
    )


def render_systemd_unit(manifest, values):
    if values["user"] is None:
        # A user unit (systemctl --user): it cannot raise limits past the user's hard limit.
        wanted_by = "default.target"
        limits = "# Open-file limit: the user manager's own."
    else:
        wanted_by = "multi-user.target"
        limits = "# ZooKeeper and Storm keep many sockets and files open.\nLimitNOFILE=65536"
    stop_total = sum(STOP_POLICY[role][0] for role, _, _ in programs(values))
    what = _describe(manifest, values["roles"])
    title = "storm-supervisord.service: supervisord for %s" % what
    return _template(
        "storm-supervisord.service.in",
        header="\n".join(_header("#", title, manifest)),
        what=what,
        prefix=values["prefix"],
        python=values["python"],
        site_dir=values["site_dir"],
        timeout_stop_sec="%d" % (stop_total + 30),
        limits=limits,
        wanted_by=wanted_by,
    )


# --- all files ---


def render(manifest, values):
    # type: (Dict[str, Any], Mapping[str, Any]) -> List[Tuple[str, str, int]]
    """Every config file for this host: a list of (path relative to PREFIX, text, mode)."""
    validate_values(values)
    roles = values["roles"]
    files = []
    if "zookeeper" in roles:
        files.append(("etc/zookeeper/zoo.cfg", render_zoo_cfg(manifest, values), 0o644))
        files.append(("data/zookeeper/myid", "%d\n" % values["zk_id"], 0o644))
    if any(r in STORM_ROLES for r in roles):
        files.append(("etc/storm/storm.yaml", render_storm_yaml(manifest, values), 0o644))
    files.append(("etc/supervisord.conf", render_supervisord_conf(manifest, values), 0o600))
    files.append(("bin/stormctl", render_stormctl(manifest, values), 0o755))
    files.append(
        ("etc/systemd/storm-supervisord.service", render_systemd_unit(manifest, values), 0o644)
    )
    for relpath, text, _ in files:
        contract.check_generated(relpath, text)
    return files


def write_files(out_dir, files):
    # type: (str, List[Tuple[str, str, int]]) -> List[str]
    """Write each file atomically (temp file in the same folder, then rename), mode set first."""
    written = []
    for relpath, text, mode in files:
        path = os.path.join(out_dir, *relpath.split("/"))
        folder = os.path.dirname(path)
        if not os.path.isdir(folder):
            os.makedirs(folder)
        fd, tmp = tempfile.mkstemp(prefix="." + os.path.basename(path) + ".", dir=folder)
        try:
            # Mode before content: a secret is never readable by others, not even briefly.
            os.fchmod(fd, mode)
            with os.fdopen(fd, "wb") as fh:
                fh.write(text.encode("utf-8"))
                fh.flush()
                os.fsync(fh.fileno())
            os.rename(tmp, path)
        except BaseException:
            if os.path.exists(tmp):
                os.unlink(tmp)
            raise
        written.append(relpath)
    return written


def _load_json(path, what):
    # Raised after the except clauses: Python 2 has no `raise ... from`.
    try:
        with io.open(path, encoding="utf-8") as fh:
            return json.load(fh)
    except (IOError, OSError) as exc:
        problem = exc.strerror or str(exc)
    except ValueError as exc:
        problem = "not valid JSON (%s)" % exc
    raise ValueError("%s %s: %s" % (what, path, problem))


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="configs.py", description="Render a Storm node's config files from bundle facts."
    )
    parser.add_argument("--manifest", required=True, help="the bundle's bundle.json")
    parser.add_argument("--values", required=True, help="a JSON file with the values")
    parser.add_argument("--out", required=True, help="folder to write into (the prefix)")
    args = parser.parse_args(argv)
    try:
        manifest = _load_json(args.manifest, "manifest")
        values = _load_json(args.values, "values")
        files = render(manifest, values)
    except ValueError as exc:
        sys.stderr.write("configs.py: %s\n" % exc)
        return 2
    for relpath in write_files(args.out, files):
        print(relpath)
    return 0


if __name__ == "__main__":
    sys.exit(main())
