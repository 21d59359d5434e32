"""The rule for every value an operator supplies (names, addresses, users, paths, ports, ids,
slots, heaps) and Invalid, their failure; contract.py re-exports them all."""

from __future__ import absolute_import, division, print_function, unicode_literals

import re
import sys

if sys.version_info[0] == 2:  # pragma: no cover - the bundle's Python 2.7 hosts
    STRING_TYPES = (str, unicode)  # type: tuple[type, ...]  # noqa: F821
    INTEGER_TYPES = (int, long)  # type: tuple[type, ...]  # noqa: F821
else:
    STRING_TYPES = (str,)
    INTEGER_TYPES = (int,)

MYPY = False
if MYPY:  # pragma: no cover - type comments only; `typing` is not on every target Python 2.7
    from typing import Any, Dict, Iterable, List, Optional, Pattern, Sequence, Tuple  # noqa: F401


# --- failures ---


class Invalid(ValueError):
    """A value breaks its rule. str() is `label: problem; fix`, one line."""

    def __init__(self, label, problem, fix=None):
        # type: (str, str, Optional[str]) -> None
        self.label = label
        self.problem = problem + ("; " + fix if fix else "")
        ValueError.__init__(self, "%s: %s" % (label, self.problem) if label else self.problem)


# Control characters (C0, DEL, C1) and the Unicode line and paragraph separators: anything
# str.splitlines() or a config parser could take as the end of a line.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")
SHOW_MAX = 60


def show(value):
    # type: (Any) -> str
    """A value as a message shows it: quoted, control characters escaped, long ones cut."""
    if isinstance(value, STRING_TYPES):
        cut = value[:SHOW_MAX]
        text = repr(cut)
        if text.startswith("u"):  # Python 2's unicode repr
            text = text[1:]
        if len(value) > SHOW_MAX:
            text += "... (%d characters)" % len(value)
        return text
    text = repr(value)
    if len(text) > SHOW_MAX + 20:
        text = text[: SHOW_MAX + 20] + "..."
    # A list of Python 2 unicode strings shows as [u'a']: make it [\'a\'] as on Python 3.
    return re.sub(r"(?<![A-Za-z0-9_])u'", "'", text)


def has_control(value):
    # type: (str) -> bool
    return _CONTROL.search(value) is not None


def plain(value):
    # type: (str) -> str
    """value as it is when it is printable and short, else as show() makes it."""
    return value if len(value) <= SHOW_MAX and not has_control(value) else show(value)


def _string(value, label, expected, limit, pattern=None, fix=None):
    # type: (Any, str, str, int, Optional[Pattern[str]], Optional[str]) -> str
    """The common part of every text rule: a string, no control character, at most `limit`,
    and all of it matched by `pattern` when one is given (`fix`: what to do when not)."""
    if not isinstance(value, STRING_TYPES):
        raise Invalid(label, "expected %s, found %s" % (expected, show(value)))
    control = _CONTROL.search(value)
    if control:
        raise Invalid(
            label,
            "expected %s, found %s, which has a control character (%s at position %d)"
            % (expected, show(value), show(control.group())[1:-1], control.start() + 1),
            "remove it",
        )
    if not value:
        raise Invalid(label, "expected %s, found an empty string" % expected)
    if len(value) > limit:
        raise Invalid(
            label,
            "expected %s of at most %d characters, found %d: %s"
            % (expected, limit, len(value), show(value)),
            "use a shorter one",
        )
    if pattern is not None and not pattern.match(value):
        raise Invalid(label, "expected %s, found %s" % (expected, show(value)), fix)
    return value


def is_int(value):
    # type: (Any) -> bool
    """A whole number, not a bool (True is an int to Python, never a port to us)."""
    return isinstance(value, INTEGER_TYPES) and not isinstance(value, bool)


# --- numbers ---

PORT_RANGE = (1, 65535)
ZK_ID_RANGE = (1, 255)
HEAP_MB_RANGE = (64, 1 << 20)
JAVA_MAJOR_RANGE = (6, 99)
MEMORY_MB_RANGE = (256, 1 << 24)
SECONDS_RANGE = (0, 7 * 24 * 3600)
HEAP_KEYS = ("nimbus", "ui", "supervisor", "worker")  # type: Tuple[str, ...]
_DIGITS = re.compile(r"[0-9]{1,9}\Z")


def check_int(value, label, bounds):
    # type: (Any, str, Tuple[int, int]) -> int
    low, high = bounds
    if not is_int(value) or not low <= value <= high:
        raise Invalid(
            label, "expected a whole number from %d to %d, found %s" % (low, high, show(value))
        )
    return int(value)


def parse_int(text, label, bounds):
    # type: (Any, str, Tuple[int, int]) -> int
    """A whole number given as text (a flag): ASCII digits only, so no sign, no spaces, no
    underscores and no other script's digits, all of which int() would take."""
    low, high = bounds
    expected = "a whole number from %d to %d" % (low, high)
    digits = _string(text, label, expected, 9, _DIGITS)
    return check_int(int(digits), label, bounds)


def each_once(label, items, what, found=None, verb="lists"):
    # type: (str, Sequence[Any], str, Any, str) -> None
    """Refuses a list that has an item twice; `found` is what the message shows (the items)."""
    if len(set(items)) != len(items):
        raise Invalid(
            label,
            "%s a %s twice: expected each %s once, found %s"
            % (verb, what, what, show(items if found is None else found)),
            "drop the repeat",
        )


def check_port(value, label):
    # type: (Any, str) -> int
    return check_int(value, label, PORT_RANGE)


def check_zk_id(value, label):
    # type: (Any, str) -> int
    return check_int(value, label, ZK_ID_RANGE)


def check_slots(value, label):
    # type: (Any, str) -> List[int]
    """Worker slot ports: a non-empty list, each a port, none twice."""
    if not isinstance(value, list) or not value:
        raise Invalid(label, "expected a non-empty list of ports, found %s" % show(value))
    ports = [check_port(port, label) for port in value]
    each_once(label, ports, "port")
    return ports


def check_heaps(value, label):
    # type: (Any, str) -> Dict[str, int]
    """MB of heap per daemon, for some of HEAP_KEYS."""
    if not isinstance(value, dict):
        raise Invalid(
            label,
            "expected a table of MB per daemon (%s), found %s"
            % (", ".join(HEAP_KEYS), show(value)),
        )
    for key in value:
        if key not in HEAP_KEYS:
            raise Invalid(
                label,
                "unknown daemon %s: expected heaps for any of %s"
                % (show(key), ", ".join(HEAP_KEYS)),
            )
    low, high = HEAP_MB_RANGE
    for key, mb in value.items():
        if not is_int(mb) or not low <= mb <= high:
            raise Invalid(
                label,
                "%s: expected a whole number of MB from %d to %d, found %s"
                % (key, low, high, show(mb)),
            )
    return dict(value)


# --- names ---

# A DNS label (RFC 1123): letters, digits and -, not at either end, 1 to 63 characters.
_LABEL = re.compile(r"[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\Z")
_OCTET = re.compile(r"(0|[1-9][0-9]{0,2})\Z")
HOST_NAME_MAX = 253
HOST_EXPECTED = "an IPv4 address (a.b.c.d, each 0 to 255) or a DNS name (RFC 1123)"


def is_ipv4(value):
    # type: (Any) -> bool
    """Dotted-quad IPv4, each part 0-255 without leading zeros (which some resolvers read as
    octal: 010.0.0.1 would be 8.0.0.1 to them)."""
    if not isinstance(value, STRING_TYPES):
        return False
    parts = value.split(".")
    return len(parts) == 4 and all(_OCTET.match(p) and int(p) <= 255 for p in parts)


def _dns_problem(value):
    # type: (str) -> Optional[str]
    """Why value is not an RFC 1123 host name, or None when it is one."""
    if len(value) > HOST_NAME_MAX:
        return "%d characters; a DNS name has at most %d" % (len(value), HOST_NAME_MAX)
    for part in value.split("."):
        if len(part) > 63:
            return "a label of %d characters; DNS labels have at most 63" % len(part)
        if not _LABEL.match(part):
            return "the label %s: labels are letters, digits and - (not first or last)" % show(part)
    if value.rsplit(".", 1)[-1].isdigit():
        # RFC 1123 2.1: a name is never all-numeric in its last label; this is a bad address.
        return "numbers like an IPv4 address, but not a valid one"
    return None


def check_address(value, label):
    # type: (Any, str) -> str
    """An address the other hosts dial: IPv4 or a DNS name, never the wildcard 0.0.0.0."""
    address = check_bind_address(value, label, wildcard=False)
    if address == "0.0.0.0":
        # A ZooKeeper node listing itself on 0.0.0.0 never joins its peers; peers cannot dial it.
        raise Invalid(
            label,
            "0.0.0.0 is not an address peers can reach: expected %s other than the wildcard"
            % HOST_EXPECTED,
            "give this host's real address",
        )
    return address


def check_bind_address(value, label, wildcard=True):
    # type: (Any, str, bool) -> str
    """An address to listen on: IPv4 (0.0.0.0 included), a DNS name, or `*` if `wildcard`."""
    expected = HOST_EXPECTED + (" or *" if wildcard else "")
    text = _string(value, label, expected, HOST_NAME_MAX)
    if wildcard and text == "*":
        return text
    if is_ipv4(text):
        return text
    problem = _dns_problem(text)
    if problem:
        raise Invalid(
            label,
            "expected %s, found %s: %s" % (expected, show(text), problem),
            "correct the address",
        )
    return text


def check_host_name(value, label):
    # type: (Any, str) -> str
    """A host's name in the inventory: a DNS name (RFC 1123), or its IPv4 address."""
    return check_address(value, label)


def check_host_list(value, label, allow_empty=False):
    # type: (Any, str, bool) -> List[str]
    """Peer addresses: a list, each an address, none twice."""
    if not isinstance(value, list) or (not value and not allow_empty):
        raise Invalid(
            label, "expected a non-empty list of %s, found %s" % (HOST_EXPECTED, show(value))
        )
    hosts = [check_address(host, label) for host in value]
    # DNS names are case-insensitive: ZK1 and zk1 are one host.
    each_once(label, [h.lower() for h in hosts], "host", hosts)
    if len(hosts) > ZK_ID_RANGE[1]:
        raise Invalid(label, "expected at most %d hosts, found %d" % (ZK_ID_RANGE[1], len(hosts)))
    return hosts


def parse_host_list(text, label):
    # type: (Any, str) -> List[str]
    """A comma list of addresses as given in a flag (--zk-servers, --nimbus-host)."""
    words = _string(text, label, "a comma list of " + HOST_EXPECTED, 255 * (HOST_NAME_MAX + 1))
    return check_host_list(words.split(","), label)


def parse_bind(text, label, default_port=None):
    # type: (Any, str, Optional[int]) -> Tuple[str, Optional[int]]
    """ADDR or ADDR:PORT (--supervisord-ui-bind) -> (address, port or default_port)."""
    words = _string(text, label, "ADDR or ADDR:PORT", HOST_NAME_MAX + 6)
    if ":" in words:
        address, port = words.rsplit(":", 1)
        low, high = PORT_RANGE
        if not _DIGITS.match(port) or not low <= int(port) <= high:
            raise Invalid(
                label,
                "expected ADDR:PORT with a port from %d to %d, found %s" % (low, high, show(words)),
            )
        return check_bind_address(address, label), int(port)
    return check_bind_address(words, label), default_port


# Lower case, so that it also ends the bundle's file name.
_CLUSTER_NAME = re.compile(r"[a-z0-9][a-z0-9-]{0,39}\Z")


def check_cluster_name(value, label):
    # type: (Any, str) -> str
    expected = "lower-case letters, digits and - (at most 40, not starting with -)"
    fix = "pick such a name (it ends the bundle's file name)"
    return _string(value, label, expected, 40, _CLUSTER_NAME, fix)


_BUNDLE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+-]*\Z")


def check_bundle_name(value, label="bundle name"):
    # type: (Any, str) -> str
    """The bundle's name: its folder and file name on every host."""
    expected = "letters, digits and . _ + - (a file name)"
    return _string(value, label, expected, 128, _BUNDLE_NAME)


# What useradd accepts everywhere (shadow's default rule), lower case only: a letter or _,
# then letters, digits, _ and -; 32 characters at most.
_USER = re.compile(r"[a-z_][a-z0-9_-]{0,31}\Z")
USER_EXPECTED = "a user name: a lower-case letter or _, then lower-case letters, digits, _ or -"


def check_user(value, label):
    # type: (Any, str) -> str
    return _string(value, label, USER_EXPECTED, 32, _USER, "pick a name useradd accepts")


# --- paths ---

# Paths end up in INI values, shell, systemd units and YAML: only what needs no quoting in any
# of them (no spaces, quotes, %, $, @, :, commas, ;, #).
_PATH = re.compile(r"/[A-Za-z0-9._+/-]*\Z")
PATH_EXPECTED = (
    "a normalised absolute path of letters, digits and . _ + - / "
    "(no //, '.' or '..' parts, no trailing /)"
)
PATH_MAX = 255
# PREFIX/run/supervisord.sock must fit a Unix socket's 107-byte path.
PREFIX_MAX = 80


def check_path(value, label, limit=PATH_MAX):
    # type: (Any, str, int) -> str
    """An absolute path in normal form: no empty, `.` or `..` parts, no trailing /."""
    text = _string(value, label, PATH_EXPECTED, limit, _PATH, "use such a path")
    if text != "/" and any(part in ("", ".", "..") for part in text[1:].split("/")):
        raise Invalid(
            label,
            "expected %s, found %s" % (PATH_EXPECTED, show(text)),
            "write it as the plain path",
        )
    return text


def check_prefix(value, label):
    # type: (Any, str) -> str
    """The installation's folder: a path of at most PREFIX_MAX characters, not / itself."""
    text = check_path(value, label, PREFIX_MAX)
    if text == "/":
        raise Invalid(label, "expected a folder of its own, found /", "use e.g. /opt/storm")
    return text


def normal_prefix(value, label):
    # type: (Any, str) -> str
    """check_prefix for what an operator types (--prefix, cluster.toml's prefix): trailing
    slashes, as shell completion leaves them, are dropped first."""
    if isinstance(value, str) and len(value) > 1:
        value = value.rstrip("/") or "/"
    return check_prefix(value, label)
