"""The release manifest: canonical bytes, key ids, signatures, the update command's args."""

from __future__ import annotations

import base64
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

import fleet_protocol as fp
from fleet_protocol import releases as fr

KEY = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
PUBLIC = KEY.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
KEYS = {fr.key_id(PUBLIC): PUBLIC}


def signed(key: Ed25519PrivateKey = KEY, **changes: Any) -> dict[str, Any]:
    public = key.public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw
    )
    fields: dict[str, Any] = {
        "format": 1,
        "name": "edge-agent",
        "version": "1.1.0",
        "artifact": "edge-agent-1.1.0.tar.gz",
        "size": 1234,
        "sha256": "ab" * 32,
        "created_at": "2026-12-07T02:00:00+00:00",
        "key_id": fr.key_id(public),
        **changes,
    }
    fields["signature"] = base64.b64encode(key.sign(fr.signed_fields(fields))).decode()
    return fields


def test_canonical_bytes_sorted_compact_without_signature() -> None:
    manifest = fr.parse_manifest(signed())
    raw = fr.canonical_bytes(manifest)
    assert raw.startswith(b'{"artifact":"edge-agent-1.1.0.tar.gz","created_at":')
    assert b"signature" not in raw
    assert b" " not in raw


def test_key_id_is_the_first_16_hex_of_the_key_hash() -> None:
    assert fr.key_id(bytes(32)) == "66687aadf862bd77"


def test_signed_manifest_verifies() -> None:
    fr.verify(fr.parse_manifest(signed()), KEYS)


@pytest.mark.parametrize(
    ("field", "value"),
    [("size", 1235), ("sha256", "cd" * 32), ("created_at", "2026-12-07T03:00:00+00:00")],
)
def test_tampered_manifest_is_refused(field: str, value: Any) -> None:
    doc = signed()
    doc[field] = value
    with pytest.raises(fr.ReleaseRefused, match="bad signature"):
        fr.verify(fr.parse_manifest(doc), KEYS)


def test_unknown_key_is_refused() -> None:
    other = Ed25519PrivateKey.generate()
    with pytest.raises(fr.ReleaseRefused, match="unknown key id"):
        fr.verify(fr.parse_manifest(signed(other)), KEYS)


def test_artifact_name_must_carry_the_version() -> None:
    doc = signed(artifact="edge-agent-1.0.0.tar.gz")
    with pytest.raises(fr.ReleaseRefused, match="does not match version"):
        fr.verify(fr.parse_manifest(doc), KEYS)


@pytest.mark.parametrize(
    ("changes", "where"),
    [
        ({"version": "../1"}, "version"),
        ({"size": "12"}, "size"),
        ({"sha256": "AB" * 32}, "sha256"),
        ({"created_at": "2026-12-07T02:00:00+07:00"}, "created_at"),
        ({"key_id": "xyz"}, "key_id"),
        ({"signature": "not base64!"}, "signature"),
        ({"extra": 1}, "extra"),
    ],
)
def test_bad_manifest_fields_named(changes: dict[str, Any], where: str) -> None:
    with pytest.raises(fr.ReleaseRefused, match=f"bad manifest: {where}"):
        fr.parse_manifest({**signed(), **changes})


def _args(**changes: Any) -> dict[str, Any]:
    return {
        "version": "1.1.0",
        "url": "http://fleet.example/releases/edge-agent-1.1.0.tar.gz",
        "manifest": signed(),
        **changes,
    }


def test_update_args_defaults() -> None:
    checked = fr.check_update_args(_args())
    assert checked.health_deadline_s == 300
    assert checked.rollout_id is None


@pytest.mark.parametrize(
    ("changes", "fragment"),
    [
        ({"version": "1.2.0"}, "the manifest is for '1.1.0'"),
        ({"url": "ftp://x/y"}, "url"),
        ({"url": "http://user:pw@x/y"}, "credentials"),
        ({"url": "http://x/a b"}, "spaces"),
        ({"health_deadline_s": 10}, "health_deadline_s"),
        ({"health_deadline_s": 4000}, "health_deadline_s"),
        ({"rollout_id": "7"}, "rollout_id"),
        ({"rollout_id": 2**64}, "rollout_id"),
        ({"rollout_id": 0}, "rollout_id"),
        ({"health_deadline_s": 10**40}, "health_deadline_s"),
        ({"version": "1.1.0\u202e"}, "version"),
        ({"version": "../x"}, "version"),
        ({"version": "1.1.0\n"}, "version"),
        ({"url": "file:///etc/passwd"}, "url"),
        ({"url": "http://:@x/y"}, "credentials"),
        ({"url": "http://x:99999/y"}, "port"),
        ({"url": "http://ex\u202eample/y"}, "ASCII"),
        ({"manifest": {**signed(), "artifact": "../x.tar.gz"}}, "manifest.artifact"),
        ({"manifest": {**signed(), "size": 2**64}}, "manifest.size"),
        ({"manifest": {"version": "1.1.0"}}, "manifest"),
        ({"surprise": True}, "surprise"),
    ],
)
def test_bad_update_args_refused(changes: dict[str, Any], fragment: str) -> None:
    with pytest.raises(fp.ProtocolError, match=fragment) as caught:
        fr.check_update_args(_args(**changes))
    assert caught.value.reason == "invalid_args"
