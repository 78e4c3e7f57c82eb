"""A small provisioning CA for the broker's TLS listeners and board certificates.

:class:`ProvisioningCA` keeps one CA in a directory (the keys, certificates
and CRLs themselves are built by ``broker/pki.py``)::

    ca.key        the CA's private key (0600; never copied to the broker host)
    ca.crt        the CA certificate (boards and the broker trust it)
    crl.pem       the certificate revocation list the broker reads (crlfile)
    index.json    every certificate issued: serial, common name, validity, revocation
    issued/       a copy of each issued certificate (public), named by serial

A board's private key is generated here, returned once to the caller (who
writes it into the board's bundle) and never stored: the CA keeps only the
certificate. Board certificates carry the board id as their common name,
which the broker's certificate listener takes as the MQTT username
(``use_identity_as_username``); the CA therefore refuses to sign a client
certificate for a reserved account name (the admin and server accounts).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import json
import os
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from cryptography import x509
from cryptography.x509.oid import NameOID

from fleet_protocol.topics import is_device_id
from fleet_server.broker.pki import (
    BOARD_DAYS,
    CA_DAYS,
    CRL_DAYS,
    DEFAULT_CA_NAME,
    SERVER_DAYS,
    CAError,
    KeyType,
    PrivateKey,
    Revocation,
    build_crl,
    certificate_pem,
    create_ca,
    crl_pem,
    current_time,
    issue_client_certificate,
    issue_server_certificate,
    load_certificate,
    load_private_key,
    private_key_pem,
    write_file,
    write_private_file,
)

# -- the CA directory ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class IssuedCertificate:
    """What :meth:`ProvisioningCA.issue_board_certificate` hands out, once."""

    common_name: str
    serial: int
    not_after: dt.datetime
    certificate_pem: bytes
    private_key_pem: bytes

    @property
    def serial_hex(self) -> str:
        return f"{self.serial:x}"


@dataclass(frozen=True, slots=True)
class CertificateRecord:
    """One line of the CA's index."""

    serial: int
    common_name: str
    kind: Literal["board", "server"]
    not_after: dt.datetime
    revoked_at: dt.datetime | None

    @property
    def revoked(self) -> bool:
        return self.revoked_at is not None


class ProvisioningCA:
    """One CA kept in ``directory`` (see the module docstring for the files)."""

    KEY = "ca.key"
    CERT = "ca.crt"
    CRL = "crl.pem"
    INDEX = "index.json"
    ISSUED = "issued"
    LOCK = ".lock"

    def __init__(self, directory: Path | str) -> None:
        self.directory = Path(directory)
        try:
            self._key = load_private_key((self.directory / self.KEY).read_bytes())
            self.certificate = load_certificate((self.directory / self.CERT).read_bytes())
        except FileNotFoundError as exc:
            raise CAError(
                f"no provisioning CA in {self.directory}: {exc.filename} missing"
            ) from None
        except ValueError as exc:
            raise CAError(f"the provisioning CA in {self.directory} is unreadable: {exc}") from None

    # -- creation -------------------------------------------------------------------------
    @classmethod
    def exists(cls, directory: Path | str) -> bool:
        return (Path(directory) / cls.KEY).exists()

    @classmethod
    def create(
        cls,
        directory: Path | str,
        *,
        common_name: str = DEFAULT_CA_NAME,
        key_type: KeyType = "ec",
        valid_days: int = CA_DAYS,
        reserved_names: Iterable[str] = (),
    ) -> ProvisioningCA:
        """Create a new CA with an empty CRL; refuses to overwrite an existing one.

        ``reserved_names`` are account names (admin, server) for which no
        client certificate may ever be issued."""
        path = Path(directory)
        if cls.exists(path):
            raise CAError(f"{path} already holds a provisioning CA; not overwriting it")
        path.mkdir(parents=True, exist_ok=True)
        # The broker reads ca.crt and crl.pem; ca.key and index.json stay 0600.
        os.chmod(path, 0o755)  # noqa: S103
        key, cert = create_ca(common_name, key_type=key_type, valid_days=valid_days)
        write_private_file(path / cls.KEY, private_key_pem(key))
        write_file(path / cls.CERT, certificate_pem(cert))
        index = {"crl_number": 0, "reserved_names": sorted(set(reserved_names)), "certificates": []}
        write_file(path / cls.INDEX, json.dumps(index, indent=2).encode(), 0o600)
        ca = cls(path)
        ca.write_crl()
        return ca

    # -- paths ----------------------------------------------------------------------------
    @property
    def cert_path(self) -> Path:
        return self.directory / self.CERT

    @property
    def crl_path(self) -> Path:
        return self.directory / self.CRL

    @property
    def cert_pem(self) -> bytes:
        return certificate_pem(self.certificate)

    # -- index ----------------------------------------------------------------------------
    @contextlib.contextmanager
    def _locked(self) -> Iterator[dict[str, Any]]:
        """The index under an exclusive lock (several API processes may issue)."""
        with open(self.directory / self.LOCK, "a+b") as lock:
            os.fchmod(lock.fileno(), 0o600)
            fcntl.flock(lock, fcntl.LOCK_EX)
            index = self._read_index()
            yield index
            write_file(self.directory / self.INDEX, json.dumps(index, indent=2).encode(), 0o600)

    def _read_index(self) -> dict[str, Any]:
        try:
            data: dict[str, Any] = json.loads((self.directory / self.INDEX).read_text())
        except FileNotFoundError:
            data = {}
        data.setdefault("crl_number", 0)
        data.setdefault("reserved_names", [])
        data.setdefault("certificates", [])
        return data

    @property
    def reserved_names(self) -> frozenset[str]:
        return frozenset(self._read_index()["reserved_names"])

    def certificates(self, common_name: str | None = None) -> list[CertificateRecord]:
        out = []
        for row in self._read_index()["certificates"]:
            if common_name is not None and row["common_name"] != common_name:
                continue
            revoked = row.get("revoked_at")
            out.append(
                CertificateRecord(
                    serial=int(row["serial"], 16),
                    common_name=row["common_name"],
                    kind=row["kind"],
                    not_after=dt.datetime.fromisoformat(row["not_after"]),
                    revoked_at=dt.datetime.fromisoformat(revoked) if revoked else None,
                )
            )
        return out

    def _record(self, kind: str, cert: x509.Certificate) -> None:
        common_name = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value
        with self._locked() as index:
            index["certificates"].append(
                {
                    "serial": f"{cert.serial_number:x}",
                    "common_name": common_name,
                    "kind": kind,
                    "not_after": cert.not_valid_after_utc.isoformat(),
                    "revoked_at": None,
                }
            )
        write_file(
            self.directory / self.ISSUED / f"{cert.serial_number:x}.crt", certificate_pem(cert)
        )

    # -- issuing --------------------------------------------------------------------------
    def issue_server_certificate(
        self,
        *,
        dns_names: Sequence[str] = (),
        ip_addresses: Sequence[str] = (),
        key_type: KeyType = "ec",
        valid_days: int = SERVER_DAYS,
    ) -> IssuedCertificate:
        key, cert = issue_server_certificate(
            self._key,
            self.certificate,
            dns_names=dns_names,
            ip_addresses=ip_addresses,
            key_type=key_type,
            valid_days=valid_days,
        )
        self._record("server", cert)
        return self._issued(key, cert)

    def issue_board_certificate(
        self, board_id: str, *, key_type: KeyType = "ec", valid_days: int = BOARD_DAYS
    ) -> IssuedCertificate:
        """A fresh key and a clientAuth certificate with CN = ``board_id``.

        The private key is in the result only: hand it to the board, do not keep it."""
        if not is_device_id(board_id):
            raise CAError(f"{board_id[:80]!r} is not a valid board id")
        if board_id in self.reserved_names:
            raise CAError(f"{board_id!r} is a reserved account name; no certificate for it")
        key, cert = issue_client_certificate(
            self._key, self.certificate, board_id, key_type=key_type, valid_days=valid_days
        )
        self._record("board", cert)
        return self._issued(key, cert)

    @staticmethod
    def _issued(key: PrivateKey, cert: x509.Certificate) -> IssuedCertificate:
        cn = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value
        return IssuedCertificate(
            common_name=str(cn),
            serial=cert.serial_number,
            not_after=cert.not_valid_after_utc,
            certificate_pem=certificate_pem(cert),
            private_key_pem=private_key_pem(key),
        )

    # -- revocation -----------------------------------------------------------------------
    def revoke(self, serial: int) -> bool:
        """Mark one certificate revoked and rewrite the CRL. False if it already was.

        The broker reads the CRL at start and on SIGHUP only: reload it."""
        found = changed = False
        with self._locked() as index:
            for row in index["certificates"]:
                if int(row["serial"], 16) == serial:
                    found = True
                    if not row.get("revoked_at"):
                        row["revoked_at"] = current_time(None).isoformat()
                        changed = True
        if not found:
            raise CAError(f"no certificate with serial {serial:x} was issued by this CA")
        if changed:
            self.write_crl()
        return changed

    def revoke_board(self, board_id: str) -> list[int]:
        """Revoke every unrevoked certificate issued to ``board_id``; their serials."""
        serials = [
            r.serial for r in self.certificates(board_id) if r.kind == "board" and not r.revoked
        ]
        now = current_time(None).isoformat()
        if serials:
            with self._locked() as index:
                for row in index["certificates"]:
                    if int(row["serial"], 16) in serials and not row.get("revoked_at"):
                        row["revoked_at"] = now
            self.write_crl()
        return serials

    def revoked_serials(self) -> set[int]:
        return {r.serial for r in self.certificates() if r.revoked}

    def write_crl(self, *, next_update_days: int = CRL_DAYS) -> Path:
        """Sign a new CRL (next CRL number) listing every revoked certificate."""
        with self._locked() as index:
            index["crl_number"] = int(index["crl_number"]) + 1
            number = index["crl_number"]
            revoked = [
                Revocation(int(r["serial"], 16), dt.datetime.fromisoformat(r["revoked_at"]))
                for r in index["certificates"]
                if r.get("revoked_at")
            ]
            crl = build_crl(
                self._key,
                self.certificate,
                revoked,
                crl_number=number,
                next_update_days=next_update_days,
            )
            write_file(self.crl_path, crl_pem(crl))
        return self.crl_path
