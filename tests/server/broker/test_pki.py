"""The provisioning CA: certificates, CRL, files and what is (not) kept."""

from __future__ import annotations

import datetime as dt
import ipaddress
import stat
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from fleet_server.broker import pki
from fleet_server.broker.ca import ProvisioningCA


def _cn(cert: x509.Certificate) -> str:
    return str(cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value)


def test_ca_server_and_client_certificates_chain_and_carry_the_right_extensions() -> None:
    ca_key, ca = pki.create_ca()
    assert isinstance(ca_key, ec.EllipticCurvePrivateKey)
    assert ca.extensions.get_extension_for_class(x509.BasicConstraints).value.ca is True
    years = (ca.not_valid_after_utc - ca.not_valid_before_utc).days / 365
    assert 9.9 < years < 10.1

    _skey, server = pki.issue_server_certificate(
        ca_key, ca, dns_names=["mqtt.laichau.example"], ip_addresses=["203.0.113.7", "::1"]
    )
    san = server.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.DNSName) == ["mqtt.laichau.example"]
    assert san.get_values_for_type(x509.IPAddress) == [
        ipaddress.ip_address("203.0.113.7"),
        ipaddress.ip_address("::1"),
    ]
    eku = server.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(eku) == [ExtendedKeyUsageOID.SERVER_AUTH]

    _ckey, client = pki.issue_client_certificate(ca_key, ca, "lc-mlt-01")
    assert _cn(client) == "lc-mlt-01"
    eku = client.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(eku) == [ExtendedKeyUsageOID.CLIENT_AUTH]
    days = (client.not_valid_after_utc - client.not_valid_before_utc).days
    assert 729 <= days <= 731
    for cert in (server, client):
        assert cert.issuer == ca.subject
        cert.verify_directly_issued_by(ca)


def test_rsa_keys_are_3072_bits() -> None:
    key = pki.generate_key("rsa")
    assert isinstance(key, rsa.RSAPrivateKey)
    assert key.key_size == 3072


def test_provisioning_ca_directory(tmp_path: Path) -> None:
    directory = tmp_path / "ca"
    ca = ProvisioningCA.create(directory, reserved_names=["fleet-admin", "fleet-server"])
    assert stat.S_IMODE((directory / "ca.key").stat().st_mode) == 0o600
    assert stat.S_IMODE((directory / "index.json").stat().st_mode) == 0o600
    assert stat.S_IMODE(ca.crl_path.stat().st_mode) == 0o644
    with pytest.raises(pki.CAError, match="already holds"):
        ProvisioningCA.create(directory)

    issued = ca.issue_board_certificate("lc-mlt-01")
    cert = pki.load_certificate(issued.certificate_pem)
    assert _cn(cert) == "lc-mlt-01"
    cert.verify_directly_issued_by(ca.certificate)
    key = pki.load_private_key(issued.private_key_pem)
    der = serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    assert key.public_key().public_bytes(*der) == cert.public_key().public_bytes(*der)
    # The board's private key is handed out, never kept.
    for path in directory.rglob("*"):
        if path.is_file() and path.name != "ca.key":
            assert b"PRIVATE KEY" not in path.read_bytes(), path
    assert (directory / "issued" / f"{issued.serial_hex}.crt").read_bytes() == (
        issued.certificate_pem
    )

    for bad in ("fleet-admin", "fleet-server", "lc/../x", "+", "#", "%u", ""):
        with pytest.raises(pki.CAError):
            ca.issue_board_certificate(bad)

    # Revocation: the CRL lists exactly the revoked serials, with a next update.
    second = ca.issue_board_certificate("lc-mlt-01")
    other = ca.issue_board_certificate("lc-ssn-01")
    first_crl = x509.load_pem_x509_crl(ca.crl_path.read_bytes())
    assert list(first_crl) == []
    assert sorted(ca.revoke_board("lc-mlt-01")) == sorted([issued.serial, second.serial])
    assert ca.revoke_board("lc-mlt-01") == []
    crl = x509.load_pem_x509_crl(ca.crl_path.read_bytes())
    assert {r.serial_number for r in crl} == {issued.serial, second.serial}
    ca_public = ca.certificate.public_key()
    assert isinstance(ca_public, ec.EllipticCurvePublicKey)
    assert crl.is_signature_valid(ca_public)
    number = crl.extensions.get_extension_for_class(x509.CRLNumber).value.crl_number
    first = first_crl.extensions.get_extension_for_class(x509.CRLNumber).value.crl_number
    assert number > first
    assert crl.next_update_utc is not None
    assert crl.next_update_utc > dt.datetime.now(dt.UTC) + dt.timedelta(days=150)
    assert ca.revoke(other.serial) is True
    assert ca.revoke(other.serial) is False
    with pytest.raises(pki.CAError, match="no certificate"):
        ca.revoke(12345)
    assert ca.revoked_serials() == {issued.serial, second.serial, other.serial}

    # Reopened from disk: same CA, same records.
    again = ProvisioningCA(directory)
    assert again.certificate == ca.certificate
    assert {r.serial for r in again.certificates("lc-mlt-01")} == {issued.serial, second.serial}
    with pytest.raises(pki.CAError, match="no provisioning CA"):
        ProvisioningCA(tmp_path / "nowhere")


def test_server_certificate_needs_a_name() -> None:
    ca_key, ca = pki.create_ca()
    with pytest.raises(pki.CAError):
        pki.issue_server_certificate(ca_key, ca)
    with pytest.raises(pki.CAError):
        pki.issue_server_certificate(ca_key, ca, ip_addresses=["not-an-ip"])


def test_write_private_file_is_0600_from_the_start(tmp_path: Path) -> None:
    target = tmp_path / "k.pem"
    pki.write_private_file(target, b"secret")
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert target.read_bytes() == b"secret"
    assert [p.name for p in tmp_path.iterdir()] == ["k.pem"]  # no temp file left
