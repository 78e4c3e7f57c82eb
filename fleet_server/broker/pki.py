"""A small provisioning CA for the broker's TLS listeners and board certificates.

Pure functions build keys, certificates and CRLs; :class:`ProvisioningCA`
keeps one CA in a directory::

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
import ipaddress
import json
import os
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from fleet_protocol.topics import is_device_id
from fleet_server.errors import FleetError

KeyType = Literal["ec", "rsa"]
PrivateKey = ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey

DEFAULT_CA_NAME = "Lai Chau Fleet Provisioning CA"
CA_DAYS = 3650
SERVER_DAYS = 825
BOARD_DAYS = 730
#: A CRL past its nextUpdate makes OpenSSL refuse *every* client certificate
#: ("CRL has expired"): re-sign it well before (``fleet-server broker crl``).
CRL_DAYS = 180
_BACKDATE = dt.timedelta(minutes=5)  # tolerate a board clock a little behind


class CAError(FleetError):
    """The CA directory is missing, damaged, or the request cannot be signed."""


# -- pure functions -----------------------------------------------------------------------


def _now(now: dt.datetime | None) -> dt.datetime:
    return (now or dt.datetime.now(dt.UTC)).replace(microsecond=0)


def generate_key(key_type: KeyType = "ec") -> PrivateKey:
    """EC P-256 (fast, small; the default) or RSA 3072."""
    if key_type == "ec":
        return ec.generate_private_key(ec.SECP256R1())
    if key_type == "rsa":
        return rsa.generate_private_key(public_exponent=65537, key_size=3072)
    raise CAError(f"unknown key type {key_type!r}; use 'ec' or 'rsa'")


def private_key_pem(key: PrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def certificate_pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def crl_pem(crl: x509.CertificateRevocationList) -> bytes:
    return crl.public_bytes(serialization.Encoding.PEM)


def load_private_key(pem: bytes) -> PrivateKey:
    key = serialization.load_pem_private_key(pem, password=None)
    if not isinstance(key, ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey):
        raise CAError(f"unsupported private key type {type(key).__name__}")
    return key


def load_certificate(pem: bytes) -> x509.Certificate:
    return x509.load_pem_x509_certificate(pem)


def _key_usage(key: PrivateKey, *, ca: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=not ca,
        content_commitment=False,
        # RSA key exchange (TLS 1.2 without ECDHE) needs keyEncipherment.
        key_encipherment=not ca and isinstance(key, rsa.RSAPrivateKey),
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=ca,
        crl_sign=ca,
        encipher_only=False,
        decipher_only=False,
    )


def create_ca(
    common_name: str = DEFAULT_CA_NAME,
    *,
    key_type: KeyType = "ec",
    valid_days: int = CA_DAYS,
    now: dt.datetime | None = None,
) -> tuple[PrivateKey, x509.Certificate]:
    """A self-signed CA that may sign end-entity certificates only (pathlen 0)."""
    key = generate_key(key_type)
    start = _now(now)
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Lai Chau fleet"),
        ]
    )
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start - _BACKDATE)
        .not_valid_after(start + dt.timedelta(days=valid_days))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_key_usage(key, ca=True), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    return key, cert


def _end_entity(
    ca_key: PrivateKey,
    ca_cert: x509.Certificate,
    key: PrivateKey,
    common_name: str,
    *,
    usage: x509.ObjectIdentifier,
    valid_days: int,
    now: dt.datetime | None,
    san: x509.SubjectAlternativeName | None = None,
) -> x509.Certificate:
    start = _now(now)
    not_after = min(start + dt.timedelta(days=valid_days), ca_cert.not_valid_after_utc)
    ski = ca_cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    builder = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)]))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start - _BACKDATE)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_key_usage(key, ca=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski), critical=False
        )
    )
    if san is not None:
        builder = builder.add_extension(san, critical=False)
    return builder.sign(ca_key, hashes.SHA256())


def issue_server_certificate(
    ca_key: PrivateKey,
    ca_cert: x509.Certificate,
    *,
    dns_names: Sequence[str] = (),
    ip_addresses: Sequence[str] = (),
    key_type: KeyType = "ec",
    valid_days: int = SERVER_DAYS,
    now: dt.datetime | None = None,
) -> tuple[PrivateKey, x509.Certificate]:
    """The broker's certificate: SAN with every DNS name and IP boards dial."""
    if not dns_names and not ip_addresses:
        raise CAError("a server certificate needs at least one DNS name or IP address")
    names: list[x509.GeneralName] = [x509.DNSName(n) for n in dns_names]
    try:
        names += [x509.IPAddress(ipaddress.ip_address(a)) for a in ip_addresses]
    except ValueError as exc:
        raise CAError(str(exc)) from None
    key = generate_key(key_type)
    cert = _end_entity(
        ca_key,
        ca_cert,
        key,
        dns_names[0] if dns_names else ip_addresses[0],
        usage=ExtendedKeyUsageOID.SERVER_AUTH,
        valid_days=valid_days,
        now=now,
        san=x509.SubjectAlternativeName(names),
    )
    return key, cert


def issue_client_certificate(
    ca_key: PrivateKey,
    ca_cert: x509.Certificate,
    common_name: str,
    *,
    key_type: KeyType = "ec",
    valid_days: int = BOARD_DAYS,
    now: dt.datetime | None = None,
) -> tuple[PrivateKey, x509.Certificate]:
    """A client certificate (clientAuth) whose common name is the MQTT username."""
    key = generate_key(key_type)
    cert = _end_entity(
        ca_key,
        ca_cert,
        key,
        common_name,
        usage=ExtendedKeyUsageOID.CLIENT_AUTH,
        valid_days=valid_days,
        now=now,
    )
    return key, cert


@dataclass(frozen=True, slots=True)
class Revocation:
    serial: int
    revoked_at: dt.datetime


def build_crl(
    ca_key: PrivateKey,
    ca_cert: x509.Certificate,
    revoked: Iterable[Revocation],
    *,
    crl_number: int,
    next_update_days: int = CRL_DAYS,
    now: dt.datetime | None = None,
) -> x509.CertificateRevocationList:
    start = _now(now)
    ski = ca_cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    builder = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(ca_cert.subject)
        .last_update(start - _BACKDATE)
        .next_update(start + dt.timedelta(days=next_update_days))
        .add_extension(x509.CRLNumber(crl_number), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski), critical=False
        )
    )
    for entry in revoked:
        builder = builder.add_revoked_certificate(
            x509.RevokedCertificateBuilder()
            .serial_number(entry.serial)
            .revocation_date(entry.revoked_at)
            .build()
        )
    return builder.sign(ca_key, hashes.SHA256())


def write_file(path: Path, data: bytes, mode: int = 0o644) -> None:
    """Write atomically (temp file + rename) with ``mode`` from the first byte."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def write_private_file(path: Path, data: bytes) -> None:
    write_file(path, data, 0o600)


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
                        row["revoked_at"] = _now(None).isoformat()
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
        now = _now(None).isoformat()
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
