"""The manifest contract: the typed model writes what the shipped JSON Schema allows, the
on-host reader (stdlib, Python 2.7 and 3.6+) applies that same schema, and the two checkers
(jsonschema and ours) agree on what is broken (the reader under the host Pythons:
tests/integration/test_manifest.py)."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from bundler.errors import BundleFormatError, IntegrityError
from bundler.onhost.contract import manifest as contract
from bundler.pack.manifest import (
    Manifest,
    config_view,
)
from tests.support.manifests import SHA, sample

ROOT = Path(__file__).resolve().parents[2]
ONHOST = ROOT / "bundler" / "onhost"


def schema() -> dict[str, Any]:
    data: dict[str, Any] = json.loads((ONHOST / "contract" / "bundle.schema.json").read_text())
    return data


def test_typed_model_writes_what_the_schema_allows_and_reads_it_back() -> None:
    manifest = sample()
    data = json.loads(manifest.to_bytes())
    jsonschema.Draft202012Validator.check_schema(schema())
    jsonschema.validate(data, schema())
    assert Manifest.from_json(data) == manifest
    assert data["schema"] == contract.SCHEMA_VERSION == 1


def test_the_on_host_reader_returns_plain_objects(tmp_path: Path) -> None:
    (tmp_path / "bundle.json").write_bytes(sample().to_bytes())
    read = contract.read(str(tmp_path))
    assert read.name == "storm-2.6.4-zk-3.8.4-book"
    assert read.storm.version == "2.6.4" and read.storm.facts["nimbus_key"] == "nimbus.seeds"
    assert read.supervisor.pythons["3.12"].pip.endswith("pip-24.0-py3-none-any.whl")
    assert read.jdk.java_major == 17
    assert read.cluster.hosts == ("a", "b")
    assert read.files["cluster.json"].size == 2
    sums = "".join(f"{v.sha256}  {k}\n" for k, v in read.files.items())
    assert contract.sums_mismatch(read, sums + f"{SHA}  bundle.json\n") is None
    assert contract.sums_mismatch(read, sums.replace(SHA, "cd" * 32, 1)) is not None


def test_render_reads_the_same_entries_build_writes() -> None:
    manifest = sample()
    view = manifest.config_view()
    assert view == config_view(manifest.name, manifest.storm, manifest.zookeeper)
    assert view["components"]["storm"] == json.loads(manifest.to_bytes())["components"]["storm"]


Mutation = Callable[[dict[str, Any]], None]


def _set(path: str, value: Any) -> Mutation:
    def mutate(data: dict[str, Any]) -> None:
        *parents, last = path.split("/")
        target: Any = data
        for key in parents:
            target = target[int(key)] if isinstance(target, list) else target[key]
        if value is _DELETE:
            del target[last]
        elif isinstance(target, list):
            target[int(last)] = value
        else:
            target[last] = value

    return mutate


_DELETE = object()

BROKEN: list[tuple[str, Mutation, str]] = [
    ("missing name", _set("name", _DELETE), "bundle.json.name: expected a value"),
    ("epoch as text", _set("source_date_epoch", "1"), "source_date_epoch: expected a JSON integer"),
    ("negative size", _set("files/cluster.json/size", -1), "at least 0"),
    ("short sha256", _set("files/cluster.json/sha256", "abc"), "text matching"),
    ("path escaping", _set("components/storm/artifact", "../../etc/passwd"), "storm.artifact"),
    ("unknown key", _set("mirror", "http://x"), "bundle.json.mirror: expected no such key"),
    ("bad status", _set("artifacts/0/verification/signature/status", "fine"), "one of"),
    ("bool as int", _set("components/jdk/java_major", True), "java_major"),
    ("python key", _set("components/supervisor/pythons/three", {}), "(the key)"),
    ("hosts not text", _set("cluster/hosts", [1]), "cluster.hosts[0]"),
    ("policy gpg", _set("policy/gpg", "maybe"), "policy.gpg"),
]


@pytest.mark.parametrize(("what", "mutate", "needle"), BROKEN, ids=[b[0] for b in BROKEN])
def test_both_checkers_refuse_a_broken_manifest(what: str, mutate: Mutation, needle: str) -> None:
    data = json.loads(sample().to_bytes())
    broken = copy.deepcopy(data)
    mutate(broken)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(broken, schema())
    with pytest.raises(contract.ManifestError) as caught:
        contract.check(broken)
    message = str(caught.value)
    assert needle in message, message
    assert "\n" not in message and "unpack it again" in message
    with pytest.raises(IntegrityError):
        Manifest.from_json(broken)


def test_another_schema_version_is_a_format_error_not_damage() -> None:
    data = json.loads(sample().to_bytes())
    data["schema"] = 2
    with pytest.raises(contract.ManifestVersionError, match="expected manifest schema 1, found 2"):
        contract.check(data)
    with pytest.raises(BundleFormatError):
        Manifest.from_json(data)


def test_unreadable_manifest_is_one_clear_line(tmp_path: Path) -> None:
    with pytest.raises(contract.ManifestError, match="found none"):
        contract.read(str(tmp_path))
    (tmp_path / "bundle.json").write_bytes(b"\xff{")
    with pytest.raises(contract.ManifestError, match="expected JSON"):
        contract.read(str(tmp_path))
