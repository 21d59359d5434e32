"""The bundle's software bill of materials: CycloneDX 1.6 JSON, written with cyclonedx-python-lib.

It lists every component that crosses the gap (the Storm and ZooKeeper release tarballs, each
Python wheel, the JDK and storm-starter when they are carried) with its version, purl, hashes
and licence, and the bundle itself as the metadata component. Each component names its file
inside the bundle (property `bundler:path`), so an auditor can match it against SHA256SUMS.

It is reproducible: the timestamp is the build's epoch, the serial number a UUID derived from
the content, and every bom-ref a fixed name. The download URL is the canonical Apache one from
the recipes, never the mirror that served the file, so the bytes do not depend on the mirror.
The library is imported inside the functions: `bundler --help` should not pay for it.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import threading
import uuid
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from bundler import __version__
from bundler.errors import BundleFormatError, BundlerError
from bundler.fetch.licences import LICENCE_READER

SBOM_FILE = "sbom.cdx.json"
SPEC_VERSION = "1.6"
# uuid5 namespace for serial numbers: the same content gives the same serial.
_SERIAL_NAMESPACE = uuid.UUID("6b0f3c1e-0d7a-5d2b-9a53-0c2f8e6a4b11")
# This module's own text stands for the code that renders SBOMs, and LICENCE_READER for the
# one that reads the wheels' licences in them: an edit to either is a new SBOM memo key
# (memo_key), even where the version number stays (an editable checkout).
CODE = hashlib.sha256(Path(__file__).read_bytes() + LICENCE_READER.encode()).hexdigest()


@dataclass(frozen=True)
class Item:
    """One component of the bundle, as the SBOM lists it."""

    kind: str  # "apache", "wheel", "jdk" or "maven" (storm-starter)
    name: str
    version: str
    path: str  # inside the bundle
    sha256: str
    sha512: str | None = None
    url: str | None = None  # canonical download URL
    licence: str | None = None


_preload = threading.Lock()
_preloading: list[threading.Thread] = []


def preload() -> None:
    """Import the CycloneDX library (and build its licence parser) on a thread of its own,
    once. Called when a release has to be downloaded: the SBOM will then be rendered anew, and
    the import (most of rendering) runs while the bytes stream in instead of after them."""
    with _preload:
        if not _preloading:
            thread = threading.Thread(target=_import_library, name="sbom-preload")
            _preloading.append(thread)
            thread.start()


def _import_library() -> None:
    import cyclonedx.factory.license
    import cyclonedx.model.bom
    import cyclonedx.output.json

    # The first licence that is not a bare SPDX id builds the library's expression parser
    # (tens of ms): build it here too.
    cyclonedx.factory.license.LicenseFactory().make_from_string("MIT OR Apache-2.0")


def _component(item: Item) -> Any:
    from cyclonedx.factory.license import LicenseFactory
    from cyclonedx.model import (
        ExternalReference,
        ExternalReferenceType,
        HashAlgorithm,
        HashType,
        Property,
        XsUri,
    )
    from cyclonedx.model.component import Component, ComponentType
    from packageurl import PackageURL

    hashes = [HashType(alg=HashAlgorithm.SHA_256, content=item.sha256)]
    if item.sha512:
        hashes.append(HashType(alg=HashAlgorithm.SHA_512, content=item.sha512))
    if item.kind == "wheel":
        purl = PackageURL("pypi", None, item.name, item.version)
        kind = ComponentType.LIBRARY
    elif item.kind == "apache":
        purl = PackageURL("generic", "apache", item.name, item.version)
        kind = ComponentType.APPLICATION
    elif item.kind == "maven":
        purl = PackageURL("maven", "org.apache.storm", item.name, item.version)
        kind = ComponentType.APPLICATION
    else:
        purl = PackageURL("generic", None, item.name, item.version)
        kind = ComponentType.PLATFORM
    refs = []
    if item.url:
        refs.append(ExternalReference(type=ExternalReferenceType.DISTRIBUTION, url=XsUri(item.url)))
    licences = [LicenseFactory().make_from_string(item.licence)] if item.licence else []
    return Component(
        type=kind,
        name=item.name,
        version=item.version,
        bom_ref=item.path,
        purl=purl,
        hashes=hashes,
        licenses=licences,
        external_references=refs,
        properties=[Property(name="bundler:path", value=item.path)],
    )


def _serial(name: str, epoch: int, items: Iterable[Item]) -> uuid.UUID:
    canonical = json.dumps(
        [name, epoch, sorted((i.path, i.sha256, i.licence or "") for i in items)],
        separators=(",", ":"),
    )
    return uuid.uuid5(_SERIAL_NAMESPACE, canonical)


def render(name: str, epoch: int, items: list[Item]) -> bytes:
    """The SBOM of bundle `name` as CycloneDX JSON bytes; the same inputs give the same bytes."""
    with _preload:
        for thread in _preloading:
            thread.join()  # the library's import finishes on one thread, not two at once
    from cyclonedx.model.bom import Bom, BomMetaData
    from cyclonedx.model.component import Component, ComponentType
    from cyclonedx.output.json import JsonV1Dot6

    components = [_component(i) for i in sorted(items, key=lambda i: i.path)]
    bundle = Component(
        type=ComponentType.APPLICATION,
        name=name,
        version=name.split("-", 1)[1] if "-" in name else name,
        bom_ref=name,
        description="offline bundle made by bundler",
    )
    tool = Component(
        type=ComponentType.APPLICATION, name="bundler", version=__version__, bom_ref="bundler"
    )
    metadata = BomMetaData(
        component=bundle,
        timestamp=datetime.fromtimestamp(epoch, tz=timezone.utc),
    )
    metadata.tools.components.add(tool)
    bom = Bom(components=components, metadata=metadata, serial_number=_serial(name, epoch, items))
    bom.register_dependency(bundle, components)
    text = JsonV1Dot6(bom).output_as_string(indent=2)
    # Re-serialised with sorted keys: the library's key order is not a promise across releases.
    data = json.loads(text)
    return (json.dumps(data, indent=2, sort_keys=True) + "\n").encode()


def memo_key(name: str, epoch: int, items: list[Item]) -> str:
    """What an SBOM is made from, as one digest: the inputs (a wheel's licence is a function of
    its sha256 and of CODE, so it may be left out) and the versions of the code that renders
    them."""
    import cyclonedx

    canonical = json.dumps(
        [CODE, __version__, cyclonedx.__version__, name, epoch, [asdict(i) for i in items]],
        sort_keys=True,
        separators=(",", ":"),
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


def render_memo(
    folder: Path, key: str, make: Callable[[], bytes], store: Callable[[Path, object], None]
) -> bytes:
    """The SBOM rendered earlier for `key` when its bytes still match their recorded sha256,
    else `make()`, kept for next time with `store(path, record)`. Rendering takes the
    CycloneDX library's import and model: most of what a warm build does besides copying."""
    path = folder / f"{key}.json"
    try:
        record = json.loads(path.read_text("utf-8"))
        data = record["sbom"].encode("utf-8")
        if hashlib.sha256(data).hexdigest() == record["sha256"]:
            return bytes(data)
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        pass
    data = make()
    # Best effort: a cache that cannot take it costs the next build a render, nothing more.
    with contextlib.suppress(OSError):
        folder.mkdir(parents=True, exist_ok=True)
        store(path, {"sha256": hashlib.sha256(data).hexdigest(), "sbom": data.decode("utf-8")})
    return data


def validate(data: bytes) -> list[str]:
    """Problems the CycloneDX schema finds (needs the library's json-validation extra)."""
    from cyclonedx.schema import SchemaVersion
    from cyclonedx.validation.json import JsonStrictValidator

    errors = JsonStrictValidator(SchemaVersion.V1_6).validate_str(
        data.decode("utf-8"), all_errors=True
    )
    if errors is None:
        return []
    if isinstance(errors, Iterable):
        return [str(e) for e in errors]
    return [str(errors)]


def read(path: Path) -> bytes:
    """The SBOM inside a bundle (archive or unpacked folder); read, not verified."""
    import tarfile

    if path.is_dir():
        file = path / SBOM_FILE
        if not file.is_file():
            raise BundleFormatError(f"{path}: no {SBOM_FILE}; the bundle predates SBOMs")
        return file.read_bytes()
    if not path.is_file():
        raise BundlerError(f"{path}: no such file; expected a bundle .tar, .tar.gz or folder")
    try:
        with tarfile.open(path, "r:*") as tar:
            for info in tar:
                _, _, rel = info.name.partition("/")
                if rel == SBOM_FILE and info.isfile():
                    stream = tar.extractfile(info)
                    assert stream is not None
                    return stream.read()
    except (tarfile.TarError, OSError) as exc:
        raise BundleFormatError(f"{path}: not a readable tar archive ({exc})") from None
    raise BundleFormatError(f"{path}: no {SBOM_FILE} inside; the bundle predates SBOMs")


def summary(data: bytes) -> list[str]:
    """A few lines for `bundler inspect`: counts by kind, and licences."""
    try:
        doc = json.loads(data)
    except ValueError:
        return [f"{SBOM_FILE}: not valid JSON"]
    comps = doc.get("components", [])
    apps = [c for c in comps if c.get("purl", "").startswith("pkg:generic/")]
    wheels = [c for c in comps if c.get("purl", "").startswith("pkg:pypi/")]
    licences = sorted(
        {
            lic.get("expression")
            or lic.get("license", {}).get("id")
            or lic.get("license", {}).get("name")
            or "?"
            for c in comps
            for lic in c.get("licenses", [])
        }
    )
    unlicensed = sorted(c["name"] for c in comps if not c.get("licenses"))
    lines = [
        f"sbom    {SBOM_FILE} (CycloneDX {doc.get('specVersion')}, {doc.get('serialNumber')}): "
        f"{len(comps)} components, {len(apps)} release/JDK tarballs, {len(wheels)} wheels",
        f"  licences {', '.join(licences) or 'none'}",
    ]
    if unlicensed:
        lines.append(f"  no licence declared: {', '.join(unlicensed)}")
    return lines
