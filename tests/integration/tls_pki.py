"""A throwaway plant PKI made with openssl, and the Mosquitto listener options that use it.

Shared by the edge publisher's and the cloud ingest's TLS tests. Tests are not a package:
a test module puts this directory on `sys.path` before importing it.
"""

from __future__ import annotations

import subprocess
from pathlib import Path


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


def make_ca(directory: Path, name: str) -> None:
    """`<name>.pem` and `<name>.key`: a self-signed CA valid for two days."""
    _openssl(
        "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
        "-keyout", f"{name}.key", "-out", f"{name}.pem", "-days", "2", "-subj", f"/CN={name}",
        cwd=directory,
    )  # fmt: skip


def make_cert(directory: Path, name: str, ca: str, *, san: str | None) -> None:
    """`<name>.pem` and `<name>.key` signed by the CA `ca`; `san` e.g. `IP:127.0.0.1`."""
    _openssl(
        "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
        "-keyout", f"{name}.key", "-out", f"{name}.csr", "-subj", f"/CN={name}",
        cwd=directory,
    )  # fmt: skip
    extensions = directory / f"{name}.ext"
    extensions.write_text(f"subjectAltName={san}\n" if san else "basicConstraints=CA:FALSE\n")
    _openssl(
        "x509", "-req", "-in", f"{name}.csr", "-CA", f"{ca}.pem", "-CAkey", f"{ca}.key",
        "-CAcreateserial", "-out", f"{name}.pem", "-days", "2", "-extfile", str(extensions),
        cwd=directory,
    )  # fmt: skip


def make_plant_pki(directory: Path) -> Path:
    """A plant CA with a server certificate for 127.0.0.1 (`server`) and a client certificate
    (`edge`), and an unrelated CA (`other-ca`); returns `directory`."""
    make_ca(directory, "plant-ca")
    make_ca(directory, "other-ca")
    make_cert(directory, "server", "plant-ca", san="IP:127.0.0.1")
    make_cert(directory, "edge", "plant-ca", san=None)
    return directory


def tls_listener(pki: Path, *, require_certificate: bool = True) -> str:
    """Mosquitto options for the listener line they follow: TLS with the plant's server
    certificate, client certificates checked against the plant CA."""
    return (
        f"cafile {pki}/plant-ca.pem\ncertfile {pki}/server.pem\nkeyfile {pki}/server.key\n"
        f"require_certificate {'true' if require_certificate else 'false'}\n"
    )
