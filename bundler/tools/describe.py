"""`bundler inspect`: a bundle's manifest, and its provenance when it lies beside the bundle,
as text for people."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from bundler.pack.manifest import Manifest
from bundler.pack.provenance import path_for as provenance_path


def _version_key(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in text.split(".") if part.isdigit())


def read_provenance(bundle: Path) -> dict[str, Any] | None:
    """The provenance statement beside a bundle file, if there is a readable one."""
    path = provenance_path(bundle)
    if bundle.is_dir() or not path.is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def text(manifest: Manifest, provenance: dict[str, Any] | None = None) -> str:
    lines = [
        f"bundle {manifest.name} (schema {manifest.schema}, epoch {manifest.source_date_epoch})"
    ]
    served = _served(provenance)
    for art in manifest.artifacts:
        comp = manifest.component(art.component)
        sig = art.signature
        checked = ", ".join(f"{c.algorithm} ({c.source})" for c in art.checked)
        sig_text = (
            f"signature good, key {sig.fingerprint}"
            if sig.status == "good"
            else f"signature {sig.status}: {sig.reason or ''}"
        )
        line = f" (line {comp.line})" if comp is not None and hasattr(comp, "line") else ""
        version = comp.version if comp is not None else "?"
        source = served.get(Path(art.path).name)
        lines += [
            f"{art.component} {version}{line}",
            f"  file     {art.path}  {art.size} bytes",
            f"  sha256   {art.sha256}",
        ]
        if art.component == "jdk":
            lines.append("  source   supplied by the user")
        elif source:
            lines.append(f"  source   {source}")
        lines.append(f"  checked  {checked or 'nothing'}; {sig_text}")
    sup = manifest.supervisor
    pythons = sorted(sup.pythons.items(), key=lambda kv: _version_key(kv[0]))
    lines.append(f"supervisor {sup.version} for Python {', '.join(p for p, _ in pythons)}")
    for py, info in pythons:
        lines.append(f"  {py:<5} {', '.join(Path(w).name for w in info.wheels)}")
    cluster = manifest.cluster
    if cluster:
        lines.append(
            f"cluster {cluster.name or '(unnamed)'} in {cluster.file}: "
            f"hosts {', '.join(cluster.hosts)}"
        )
    total = sum(f.size for f in manifest.files.values())
    lines.append(
        f"{manifest.file_count} files (bundle.json and SHA256SUMS included), {total} bytes "
        "besides those two"
    )
    if provenance is not None:
        run = provenance.get("predicate", {}).get("runDetails", {})
        version = run.get("builder", {}).get("version", {}).get("bundler")
        when = run.get("metadata", {}).get("finishedOn")
        lines.append(f"provenance: built by bundler {version} at {when}")
    return "\n".join(lines)


def _served(provenance: dict[str, Any] | None) -> dict[str, str]:
    """file name -> where this build got it, from the provenance's resolvedDependencies."""
    if provenance is None:
        return {}
    deps = provenance.get("predicate", {}).get("buildDefinition", {})
    out = {}
    for dep in deps.get("resolvedDependencies", []):
        if not isinstance(dep, dict) or "name" not in dep:
            continue
        served = dep.get("annotations", {}).get("servedBy")
        uri = dep.get("uri")
        out[dep["name"]] = f"{uri} (from the cache)" if served == "cache" and uri else uri or ""
    return out
