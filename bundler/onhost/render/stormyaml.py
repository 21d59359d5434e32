"""storm.yaml: the heaps sized from the host, a worker.childopts that starts on its Java, the
YAML writer, and the file itself.

Standard library only; Python 2.7 and 3.6+ (this file is copied into every bundle).
"""

from __future__ import absolute_import, division, print_function, unicode_literals

import json
import re

from ..contract import contract, extras
from ..contract.valuecheck import HEAP_KEYS, _component, _fact, _label
from .generated import _header

MYPY = False
if MYPY:  # types for mypy only: Python 2.7 and 3.6+ need no typing module at run time
    from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple  # noqa: F401


# --- heaps ---


def _share(memory_mb, divisor, floor, cap):
    # type: (int, int, int, int) -> int
    """memory_mb / divisor rounded down to 64 MB, kept within [floor, cap]."""
    mb = (memory_mb // divisor) // 64 * 64
    return max(floor, min(cap, mb))


def heaps(memory_mb, slots):
    # type: (int, int) -> Dict[str, int]
    """-Xmx in MB per daemon, from the host's memory (M) and its number of worker slots (S).

    nimbus     M/8        floor 256, cap 1024 (the release default)
    ui         M/16       floor 128, cap 768  (the release default)
    supervisor M/16       floor 128, cap 256  (the release default)
    worker     M/2/S      floor 256, cap 2048 (half the host for the workers, shared by slots)

    Each share is rounded down to a multiple of 64 MB. The caps keep the daemons at Storm's own
    defaults on big hosts; the floors keep them startable on small ones. An 8 GB host with 4
    slots gets nimbus 1024, ui 512, supervisor 256 and 1024 per worker; a 2 GB host with 4 slots
    nimbus 256, ui 128, supervisor 128 and 256 per worker.
    """
    return {
        "nimbus": _share(memory_mb, 8, 256, 1024),
        "ui": _share(memory_mb, 16, 128, 768),
        "supervisor": _share(memory_mb, 16, 128, 256),
        "worker": _share(memory_mb, 2 * slots, 256, 2048),
    }


# --- worker.childopts ---

# Java 8 form: the 1.0 to 2.4 defaults.yaml value (rotated GC log and heap dump in the worker's
# artifacts/ folder, which the Storm supervisor creates before it launches the worker).
GC_JAVA8 = (
    "-XX:+PrintGCDetails -Xloggc:artifacts/gc.log -XX:+PrintGCDateStamps "
    "-XX:+PrintGCTimeStamps -XX:+UseGCLogFileRotation -XX:NumberOfGCLogFiles=10 "
    "-XX:GCLogFileSize=1M"
)
# Java 9+ unified logging, same rotation. PrintGCDateStamps, PrintGCTimeStamps,
# UseGCLogFileRotation, NumberOfGCLogFiles and GCLogFileSize are unrecognized options there and
# the JVM refuses to start ("Unrecognized VM option 'PrintGCDateStamps'").
GC_JAVA9 = "-Xlog:gc*:file=artifacts/gc.log:time,uptime:filecount=10,filesize=1M"
HEAP_DUMP = "-XX:+HeapDumpOnOutOfMemoryError -XX:HeapDumpPath=artifacts/heapdump"


def _heap_placeholder(storm_facts):
    """Whether this release sizes workers with worker.heap.memory.mb through %HEAP-MEM%."""
    return bool(_fact(storm_facts, "storm", "worker_heap_placeholder"))


def worker_childopts(storm_facts, java_major, worker_mb):
    # type: (Mapping[str, Any], int, int) -> str
    """A worker.childopts that starts on this Java, with Storm's placeholders left literal."""
    if not _heap_placeholder(storm_facts):
        # 0.9/0.10: the default is just -Xmx768m and there is no per-worker artifacts folder.
        return "-Xmx%dm" % worker_mb
    # %HEAP-MEM% is replaced by Storm with worker.heap.memory.mb (or the topology's own setting).
    # Releases marked worker_childopts_java9_safe (2.5+) add -XX:+IgnoreUnrecognizedVMOptions to
    # their Java 8 flags; writing the flags for the Java at hand works for every release.
    gc = GC_JAVA9 if java_major >= 9 else GC_JAVA8
    return "-Xmx%HEAP-MEM%m " + gc + " " + HEAP_DUMP


# --- file formats ---


def _yaml_scalar(value):
    if isinstance(value, bool):
        return "true" if value else "false"
    if contract.is_int(value):
        return "%d" % value
    if isinstance(value, float):
        # repr is the shortest exact form on 2.7 and 3.x. YAML 1.1 (Storm's SnakeYAML) needs a
        # dot in the mantissa of 1e-05, or it reads a string.
        mantissa, _, exponent = repr(value).partition("e")
        if "." not in mantissa:
            mantissa += ".0"
        return mantissa + ("e" + exponent if exponent else "")
    # A JSON string (ASCII, double quotes, backslash escapes) is a valid YAML double-quoted scalar,
    # except that YAML's \u is one 16-bit code: a character beyond U+FFFF, which JSON writes as
    # a surrogate pair, becomes YAML's 32-bit \U escape.
    return _SURROGATES.sub(_astral, json.dumps(value))


# A pair's first backslash is not the second half of an escaped backslash (an even run before).
_SURROGATES = re.compile(r"(?<!\\)((?:\\\\)*)\\u(d[89ab][0-9a-f]{2})\\u(d[c-f][0-9a-f]{2})")


def _astral(match):
    high, low = int(match.group(2), 16), int(match.group(3), 16)
    code = 0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00)
    return match.group(1) + "\\U%08x" % code


def _yaml(entries):
    # type: (Sequence[Tuple[Optional[str], str, Any]]) -> str
    """Entries are (comment or None, key, value) with str, int or list values."""
    lines = []  # type: List[str]
    for comment, key, value in entries:
        if comment:
            lines.extend("# " + line for line in comment.split("\n"))
        if value == []:
            lines.append("%s: []" % key)  # `key:` alone would read as null
        elif isinstance(value, list):
            lines.append("%s:" % key)
            lines.extend("  - %s" % _yaml_scalar(item) for item in value)
        else:
            lines.append("%s: %s" % (key, _yaml_scalar(value)))
    return "\n".join(lines) + "\n"


# --- storm.yaml ---


def _heaps_comment(values):
    sized = "sized from this host's %d MB of memory and %d worker slots" % (
        values["memory_mb"],
        len(values["slots"]),
    )
    fixed = [k for k in HEAP_KEYS if k in values["heaps"]]
    if not fixed:
        return "Heaps %s." % sized
    rest = [k for k in HEAP_KEYS if k not in values["heaps"]]
    if not rest:
        return "Heaps from the cluster inventory."
    return "Heaps of %s from the cluster inventory; %s %s." % (
        ", ".join(fixed),
        ", ".join(rest),
        sized,
    )


def _childopts(values, daemon, heap_opts):
    """The heap options the renderer sets, then the operator's extra JVM options."""
    extra = (values.get("childopts_extra") or {}).get(daemon)
    return heap_opts + " " + " ".join(extra.split()) if extra else heap_opts


LOCAL_HOSTNAME = "storm.local.hostname"


def render_storm_yaml(manifest, values):
    version, facts = _component(manifest, "storm")
    heap = heaps(values["memory_mb"], len(values["slots"]))
    heap.update(values["heaps"])
    nimbus_key = _fact(facts, "storm", "nimbus_key")
    nimbus_hosts = values["nimbus_hosts"]
    if nimbus_key == "nimbus.host":
        if len(nimbus_hosts) != 1:
            raise ValueError(
                "values['nimbus_hosts']: Storm %s has a single Nimbus (nimbus.host), got %r"
                % (version, nimbus_hosts)
            )
        nimbus_entry = (None, nimbus_key, nimbus_hosts[0])
    else:
        nimbus_entry = (None, nimbus_key, list(nimbus_hosts))
    entries = [
        (None, "storm.zookeeper.servers", list(values["zk_servers"])),
        (None, "storm.zookeeper.port", values["zk_ports"]["client"]),
        nimbus_entry,
        (None, "storm.local.dir", "%s/data/storm" % values["prefix"]),
        (None, "supervisor.slots.ports", list(values["slots"])),
        (
            _heaps_comment(values),
            "nimbus.childopts",
            _childopts(values, "nimbus", "-Xmx%dm" % heap["nimbus"]),
        ),
        (None, "ui.childopts", _childopts(values, "ui", "-Xmx%dm" % heap["ui"])),
        (
            None,
            "supervisor.childopts",
            _childopts(values, "supervisor", "-Xmx%dm" % heap["supervisor"]),
        ),
    ]
    childopts = _childopts(
        values, "worker", worker_childopts(facts, values["java_major"], heap["worker"])
    )
    note = None
    if _heap_placeholder(facts):
        entries.append((None, "worker.heap.memory.mb", heap["worker"]))
        note = (
            "Storm replaces %%HEAP-MEM%% with worker.heap.memory.mb. GC log and heap dump go to\n"
            "the worker's artifacts/ folder, with flags Java %d accepts." % values["java_major"]
        )
    entries.append((note, "worker.childopts", childopts))
    comment = "Extra keys from the cluster inventory or install.sh options."  # type: Optional[str]
    options = extras.check_storm_options(values.get("storm_options"), _label("storm_options"))
    if LOCAL_HOSTNAME not in options:
        # Nimbus hands workers this name to reach this host's supervisor and workers: the
        # address the cluster knows it by, not whatever the kernel's host name resolves to.
        entries.insert(
            4, ("The name the cluster reaches this host by.", LOCAL_HOSTNAME, values["host"])
        )
    for key, value in sorted(options.items()):
        entries.append((comment, key, value))
        comment = None
    header = _header(
        "#", "storm.yaml for Apache Storm %s on %s" % (version, values["host"]), manifest
    )
    return "\n".join(header) + "\n" + _yaml(entries)
