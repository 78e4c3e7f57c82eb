"""Keys, certificates and CRLs for the broker's TLS listeners and the boards:
pure functions, no state. The CA that keeps them is ``broker/ca.py``."""

from __future__ import annotations

import contextlib
import datetime as dt
import ipaddress
import os
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

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


def current_time(now: dt.datetime | None) -> dt.datetime:
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
    start = current_time(now)
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
    start = current_time(now)
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
    start = current_time(now)
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
