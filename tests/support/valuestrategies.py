"""Hypothesis strategies of what the contract's rules accept (addresses, bind addresses, paths,
prefixes, user and cluster names, each half the time with a NASTY character put in), and whole
inputs of the renderer drawn from them: `cases()`, a manifest part and one host's values."""

from __future__ import annotations

import string
from collections.abc import Callable
from typing import Any

from hypothesis import strategies as st

from bundler.onhost.contract import contract
from tests.support.configfiles import component

# Characters that mean something to YAML, INI, supervisord, systemd or a shell, line breaks of
# every kind (str.splitlines() knows eight), and look-alikes (Kelvin sign, Arabic-Indic one).
NASTY = (
    "\n\r\t\x00\x0b\x0c\x1c\x1d\x1e\x7f\x85\u2028\u2029"
    " '\"`$;&|<>#%{}[]():,=@!*?~\\^"
    "\u00e9\u212a\u0661\ufeff"
)
ALLOWED = string.ascii_letters + string.digits + "._+-/"


def accepted(rule: Callable[[Any, str], Any], strategy: st.SearchStrategy[str]) -> Any:
    def ok(value: str) -> bool:
        try:
            rule(value, "x")
        except contract.Invalid:
            return False
        return True

    return strategy.filter(ok)


def sprinkled(strategy: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    """Values of `strategy`, half of them with one NASTY character put in somewhere: what the
    rules let through of those reaches the files below too."""
    return st.tuples(
        strategy, st.one_of(st.just(""), st.sampled_from(NASTY)), st.integers(0, 999)
    ).map(lambda t: t[0][: t[2] % (len(t[0]) + 1)] + t[1] + t[0][t[2] % (len(t[0]) + 1) :])


# Names a YAML or INI reader would turn into something else if they were written bare.
TRICKY_NAMES = ["true", "null", "yes", "no", "on", "off", "y", "nan", "inf", "1e3", "0x1f", "0o7"]
LABEL = st.from_regex(r"[A-Za-z0-9]([A-Za-z0-9-]{0,8}[A-Za-z0-9])?", fullmatch=True)
IPV4 = st.tuples(*[st.integers(0, 255)] * 4).map(lambda t: ".".join(map(str, t)))
DNS = st.one_of(
    st.sampled_from(TRICKY_NAMES),
    st.lists(st.one_of(LABEL, st.sampled_from(TRICKY_NAMES)), min_size=1, max_size=4).map(".".join),
)
ADDRESS = accepted(contract.check_address, sprinkled(st.one_of(IPV4, DNS)))
BIND = accepted(contract.check_bind_address, sprinkled(st.one_of(IPV4, DNS, st.just("*"))))
PART = st.text(alphabet=ALLOWED.replace("/", ""), min_size=1, max_size=12)
PATH = accepted(
    contract.check_path,
    sprinkled(st.lists(PART, min_size=1, max_size=5).map(lambda p: "/" + "/".join(p))),
)
PREFIX = accepted(contract.check_prefix, PATH)
USER = accepted(
    contract.check_user, sprinkled(st.from_regex(r"[a-z_][a-z0-9_-]{0,31}", fullmatch=True))
)
CLUSTER = accepted(
    contract.check_cluster_name,
    sprinkled(st.from_regex(r"[a-z0-9][a-z0-9-]{0,39}", fullmatch=True)),
)
PORT = st.integers(*contract.PORT_RANGE)
RELEASES = [("2.6.4", "3.8.4"), ("0.9.5", "3.4.6"), ("1.2.4", "3.5.10")]


MANIFESTS = {
    pair: {
        "schema": 1,
        "components": {
            "storm": component("storm", pair[0]),
            "zookeeper": component("zookeeper", pair[1]),
        },
    }
    for pair in RELEASES
}


@st.composite
def cases(draw: st.DrawFn) -> tuple[dict[str, Any], dict[str, Any]]:
    release = draw(st.sampled_from(RELEASES))
    manifest = dict(MANIFESTS[release])
    manifest["name"] = f"storm-{release[0]}-zk-{release[1]}-{draw(CLUSTER)}"
    roles = draw(
        st.lists(st.sampled_from(contract.ROLES), min_size=1, max_size=6, unique=True).map(
            lambda picked: [r for r in contract.ROLES if r in picked]
        )
    )
    zk_servers = draw(st.lists(ADDRESS, min_size=1, max_size=4, unique_by=str.lower))
    zk_ids = draw(
        st.lists(
            st.integers(*contract.ZK_ID_RANGE),
            min_size=len(zk_servers),
            max_size=len(zk_servers),
            unique=True,
        )
    )
    me = draw(st.integers(0, len(zk_servers) - 1))
    storm = any(r in contract.STORM_ROLES for r in roles)
    nimbus_hosts = draw(
        st.lists(
            ADDRESS, min_size=1, max_size=1 if release[0] == "0.9.5" else 3, unique_by=str.lower
        )
    )
    zk_ports = draw(st.lists(PORT, min_size=3, max_size=3, unique=True))
    prefix = draw(PREFIX)
    values = {
        "prefix": prefix,
        "user": draw(st.one_of(st.none(), USER)),
        "roles": roles,
        "host": zk_servers[me] if "zookeeper" in roles else draw(ADDRESS),
        "zk_servers": zk_servers,
        "zk_ids": zk_ids,
        "zk_id": zk_ids[me] if "zookeeper" in roles else None,
        "zk_ports": dict(zip(("client", "peer", "election"), zk_ports, strict=True), admin=None),
        "nimbus_hosts": nimbus_hosts if storm or draw(st.booleans()) else [],
        "http_bind": draw(BIND),
        "http_port": draw(PORT),
        "web_password_sha1": draw(st.from_regex(r"[0-9a-f]{40}", fullmatch=True)),
        "java_home": draw(PATH),
        "java_major": draw(st.sampled_from([8, 11, 17, 21])),
        "memory_mb": draw(st.integers(*contract.MEMORY_MB_RANGE)),
        "python": draw(PATH),
        "launcher_python": draw(PATH),
        "site_dir": prefix + "/python/site",
        "slots": draw(st.lists(PORT, min_size=1, max_size=4, unique=True)),
        "heaps": draw(st.dictionaries(st.sampled_from(contract.HEAP_KEYS), st.integers(64, 4096))),
    }
    return manifest, values
