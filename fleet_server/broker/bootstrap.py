"""The first start of a production broker: a directory with everything
broker/mosquitto.conf refers to.

::

    <dir>/dynamic-security.json   accounts, roles, default ACL access (the plugin
                                  rewrites it on every change: mosquitto must own it)
    <dir>/server.crt, server.key  the broker's TLS certificate and key (0600)
    <dir>/ca/ca.crt, ca/crl.pem   what the broker trusts and the revocation list
    <dir>/ca/ca.key, index.json   the provisioning CA (0600; the broker never reads them)

Two accounts exist from the start, with passwords that are never defaults:
the dynamic-security admin (only ``$CONTROL/dynamic-security/#``; used by
provisioning) and the fleet server (ingest + API). Their password hashes are
written the way the plugin stores them: PBKDF2-HMAC-SHA512 over a 12-byte
random salt, 64-byte hash, both base64, plus the iteration count.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import pwd
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fleet_server.broker import pki
from fleet_server.broker.acls import (
    ADMIN_ROLE,
    DEFAULT_ACL_ACCESS,
    SERVER_ROLE,
    admin_acls,
    server_acls,
)
from fleet_server.broker.ca import ProvisioningCA
from fleet_server.errors import FleetError

DYNSEC_FILE = "dynamic-security.json"
SALT_LEN = 12  # Mosquitto 2.0's SALT_LEN; a salt of any other length is ignored
HASH_LEN = 64  # SHA-512
#: The plugin hashes passwords it sets itself (createClient, setClientPassword)
#: with 101 iterations; the two bootstrap accounts, whose passwords a person
#: may have chosen, get many more. Every login costs one hash on the broker.
BOOTSTRAP_ITERATIONS = 100_000
DEFAULT_ADMIN = "fleet-admin"
DEFAULT_SERVER = "fleet-server"
MIN_PASSWORD = 16


class BootstrapError(FleetError):
    """The broker directory cannot be created as asked."""


@dataclass(frozen=True, slots=True)
class BrokerFiles:
    """Paths of one broker directory."""

    directory: Path

    @property
    def dynsec_json(self) -> Path:
        return self.directory / DYNSEC_FILE

    @property
    def server_cert(self) -> Path:
        return self.directory / "server.crt"

    @property
    def server_key(self) -> Path:
        return self.directory / "server.key"

    @property
    def ca_dir(self) -> Path:
        return self.directory / "ca"

    @property
    def ca_cert(self) -> Path:
        return self.ca_dir / ProvisioningCA.CERT

    @property
    def crl(self) -> Path:
        return self.ca_dir / ProvisioningCA.CRL


@dataclass(frozen=True, slots=True)
class InitResult:
    files: BrokerFiles
    admin_username: str
    server_username: str
    dns_names: tuple[str, ...]
    ip_addresses: tuple[str, ...]
    #: account → password, for the passwords generated here (print them once).
    generated: dict[str, str] = field(default_factory=dict)


def hash_password(
    password: str, *, iterations: int = BOOTSTRAP_ITERATIONS, salt: bytes | None = None
) -> dict[str, Any]:
    """The ``password``/``salt``/``iterations`` fields of a dynsec client."""
    if not password:
        raise BootstrapError("empty passwords are not allowed")
    salt = salt if salt is not None else secrets.token_bytes(SALT_LEN)
    if len(salt) != SALT_LEN:
        raise BootstrapError(f"the salt must be {SALT_LEN} bytes")
    digest = hashlib.pbkdf2_hmac("sha512", password.encode(), salt, iterations, HASH_LEN)
    return {
        "password": base64.b64encode(digest).decode(),
        "salt": base64.b64encode(salt).decode(),
        "iterations": iterations,
    }


def verify_password(record: dict[str, Any], password: str) -> bool:
    salt = base64.b64decode(record["salt"])
    want = base64.b64decode(record["password"])
    got = hashlib.pbkdf2_hmac(
        "sha512", password.encode(), salt, int(record["iterations"]), HASH_LEN
    )
    return hmac.compare_digest(want, got)


def generate_password() -> str:
    """A random password for a machine account (192 bits, URL-safe)."""
    return secrets.token_urlsafe(24)


def dynsec_config(
    *,
    admin_username: str,
    admin_password: str,
    server_username: str,
    server_password: str,
    iterations: int = BOOTSTRAP_ITERATIONS,
) -> dict[str, Any]:
    """The initial content of dynamic-security.json."""
    if admin_username == server_username:
        raise BootstrapError("the admin and server accounts need different names")
    return {
        "defaultACLAccess": dict(DEFAULT_ACL_ACCESS),
        "clients": [
            {
                "username": admin_username,
                "textname": "provisioning (dynamic-security admin)",
                **hash_password(admin_password, iterations=iterations),
                "roles": [{"rolename": ADMIN_ROLE}],
            },
            {
                "username": server_username,
                "textname": "fleet server (ingest, API)",
                **hash_password(server_password, iterations=iterations),
                "roles": [{"rolename": SERVER_ROLE}],
            },
        ],
        "groups": [],
        "roles": [
            {
                "rolename": ADMIN_ROLE,
                "textdescription": "administers the dynamic-security plugin only",
                "acls": [a.as_json() for a in admin_acls()],
            },
            {
                "rolename": SERVER_ROLE,
                "textdescription": "reads every board's telemetry, writes commands",
                "acls": [a.as_json() for a in server_acls()],
            },
        ],
    }


def check_password(name: str, password: str) -> str:
    if len(password) < MIN_PASSWORD:
        raise BootstrapError(f"the {name} password must have at least {MIN_PASSWORD} characters")
    return password


def _chown(paths: Sequence[Path], owner: str) -> None:
    try:
        entry = pwd.getpwnam(owner)
    except KeyError:
        raise BootstrapError(f"no user {owner!r} to own the broker files") from None
    for path in paths:
        os.chown(path, entry.pw_uid, entry.pw_gid)


def init_broker_dir(
    directory: Path | str,
    *,
    admin_password: str | None = None,
    server_password: str | None = None,
    admin_username: str = DEFAULT_ADMIN,
    server_username: str = DEFAULT_SERVER,
    dns_names: Sequence[str] = (),
    ip_addresses: Sequence[str] = (),
    key_type: pki.KeyType = "ec",
    owner: str | None = None,
    iterations: int = BOOTSTRAP_ITERATIONS,
) -> InitResult:
    """Create the broker directory. A missing password is generated and
    returned in ``InitResult.generated``. ``owner``: the user Mosquitto runs as
    (it must read server.key and rewrite dynamic-security.json); the CA's key
    stays with the caller."""
    files = BrokerFiles(Path(directory))
    if files.dynsec_json.exists() or ProvisioningCA.exists(files.ca_dir):
        raise BootstrapError(f"{files.directory} is already initialised; not overwriting it")
    if not dns_names and not ip_addresses:
        dns_names, ip_addresses = ("localhost",), ("127.0.0.1",)
    generated: dict[str, str] = {}
    if admin_password is None:
        admin_password = generated[admin_username] = generate_password()
    if server_password is None:
        server_password = generated[server_username] = generate_password()
    check_password(admin_username, admin_password)
    check_password(server_username, server_password)
    config = dynsec_config(
        admin_username=admin_username,
        admin_password=admin_password,
        server_username=server_username,
        server_password=server_password,
        iterations=iterations,
    )
    files.directory.mkdir(parents=True, exist_ok=True)
    os.chmod(files.directory, 0o750)  # noqa: S103 - the broker's group reads it
    ca = ProvisioningCA.create(
        files.ca_dir, key_type=key_type, reserved_names=[admin_username, server_username]
    )
    server = ca.issue_server_certificate(
        dns_names=dns_names, ip_addresses=ip_addresses, key_type=key_type
    )
    pki.write_file(files.server_cert, server.certificate_pem)
    pki.write_private_file(files.server_key, server.private_key_pem)
    pki.write_private_file(files.dynsec_json, json.dumps(config, indent=2).encode())
    if owner is not None:
        # The CA's key, index and issued/ stay with the caller; the broker only
        # reads ca.crt and crl.pem (0644 in a 0755 directory).
        _chown([files.directory, files.server_cert, files.server_key, files.dynsec_json], owner)
    return InitResult(
        files=files,
        admin_username=admin_username,
        server_username=server_username,
        dns_names=tuple(dns_names),
        ip_addresses=tuple(ip_addresses),
        generated=generated,
    )


def next_steps(result: InitResult) -> str:
    f = result.files
    host = (result.dns_names or result.ip_addresses)[0]
    lines = [f"broker directory ready: {f.directory}", ""]
    if result.generated:
        lines.append("Generated passwords — shown ONCE, store them in your secret store now:")
        lines += [f"  {name}: {password}" for name, password in result.generated.items()]
        lines.append("")
    lines += [
        "Next steps:",
        "  1. Install the configuration and point its paths at this directory:",
        "       cp broker/mosquitto.conf /etc/mosquitto/mosquitto.conf",
        f"     (it expects /var/lib/mosquitto/fleet; edit the paths if {f.directory} differs)",
        "  2. Mosquitto must own dynamic-security.json and server.key, and be able to read",
        f"     {f.ca_cert} and {f.crl}; it must never read {f.ca_dir}/ca.key.",
        "       chown mosquitto: <dir> <dir>/dynamic-security.json <dir>/server.*",
        "  3. Start it and check the admin login:",
        "       systemctl restart mosquitto",
        f"       mosquitto_ctrl -h {host} -p 8883 --cafile {f.ca_cert} "
        f"-u {result.admin_username} dynsec listClients",
        "  4. Point the fleet server at it:",
        f"       FLEET_MQTT_URL=mqtts://{result.server_username}:<password>@{host}:8883",
        f"       FLEET_MQTT_CA_FILE={f.ca_cert}",
        "  5. Re-sign the CRL before it expires (monthly, e.g. from cron) and reload:",
        f"       fleet-server broker crl --dir {f.directory} && systemctl reload mosquitto",
        "",
        "Boards get accounts through provisioning (docs/broker.md); never share",
        f"the {result.admin_username} password with a board or a person's laptop.",
    ]
    return "\n".join(lines)
