"""Private certificate authorities and server certificates for HTTPS tests, made with openssl.

`CA(folder, name)` makes a CA (its certificate at `.cert`); `ca.issue(name, ip)` a server
certificate for that address, signed by it, with the extensions strict verifiers ask for.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path


def _openssl(*args: str | Path) -> None:
    subprocess.run(["openssl", *map(str, args)], check=True, capture_output=True, timeout=60)


@dataclass(frozen=True)
class ServerCert:
    cert: Path
    key: Path


class CA:
    def __init__(self, folder: Path, name: str) -> None:
        self.folder = folder
        self.name = name
        self.cert = folder / f"{name}.pem"
        self.key = folder / f"{name}.key"
        folder.mkdir(parents=True, exist_ok=True)
        _openssl(
            "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
            "-nodes", "-days", "2", "-subj", f"/CN={name}", "-keyout", self.key,
            "-out", self.cert,
            "-addext", "basicConstraints=critical,CA:TRUE",
            "-addext", "keyUsage=critical,keyCertSign,cRLSign",
            "-addext", "subjectKeyIdentifier=hash",
        )  # fmt: skip

    def issue(self, name: str, ip: str = "127.0.0.1") -> ServerCert:
        key = self.folder / f"{name}.key"
        csr = self.folder / f"{name}.csr"
        cert = self.folder / f"{name}.pem"
        ext = self.folder / f"{name}.ext"
        ext.write_text(
            "basicConstraints=critical,CA:FALSE\n"
            "keyUsage=critical,digitalSignature\n"
            "extendedKeyUsage=serverAuth\n"
            f"subjectAltName=IP:{ip}\n"
            "subjectKeyIdentifier=hash\n"
            "authorityKeyIdentifier=keyid\n"
        )
        _openssl(
            "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
            "-nodes", "-subj", f"/CN={ip}", "-keyout", key, "-out", csr,
        )  # fmt: skip
        _openssl(
            "x509", "-req", "-in", csr, "-CA", self.cert, "-CAkey", self.key,
            "-CAcreateserial", "-days", "2", "-extfile", ext, "-out", cert,
        )  # fmt: skip
        return ServerCert(cert, key)
