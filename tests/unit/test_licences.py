"""The licence a wheel declares, as the SBOM and `inspect` name it: one SPDX id for the names
that mean one licence (recipes/licences.toml), the declared name for the others."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from bundler.fetch.licences import wheel_licence


def wheel(folder: Path, name: str, headers: str) -> Path:
    path = folder / f"{name}-1.0-py3-none-any.whl"
    with zipfile.ZipFile(path, "w") as whl:
        whl.writestr(f"{name}-1.0.dist-info/METADATA", f"Metadata-Version: 2.1\n{headers}\n")
    return path


@pytest.mark.parametrize(
    ("headers", "licence"),
    [
        ("License: MIT", "MIT"),
        ("License: MIT License", "MIT"),
        ("License: the mit license", "MIT"),
        ("Classifier: License :: OSI Approved :: MIT License", "MIT"),
        (
            "Classifier: License :: OSI Approved :: MIT License\n"
            "Classifier: License :: OSI Approved :: MIT License",
            "MIT",
        ),
        ("License: Apache License, Version 2.0", "Apache-2.0"),
        ("License-Expression: MIT OR Apache-2.0\nLicense: MIT License", "MIT OR Apache-2.0"),
        # Which BSD? The name stays as declared.
        ("Classifier: License :: OSI Approved :: BSD License", "BSD License"),
        (
            "License: BSD-derived (http://www.repoze.org/LICENSE.txt)",
            "BSD-derived (http://www.repoze.org/LICENSE.txt)",
        ),
        ("License: UNKNOWN", None),
    ],
)
def test_one_spdx_id_per_licence(tmp_path: Path, headers: str, licence: str | None) -> None:
    assert wheel_licence(wheel(tmp_path, "pkg", headers)) == licence
