"""``fleet-server broker ...``: set up and maintain a production broker directory.

Only argparse here; the work is imported when a command runs.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

STDIN = "-"


def _read_secret(path: str | None, what: str) -> str | None:
    """First line of a file, or of stdin for ``-``; None when not given."""
    if path is None:
        return None
    if path == STDIN:
        line = sys.stdin.readline()
    else:
        try:
            with open(path, encoding="utf-8") as fh:
                line = fh.readline()
        except OSError as exc:
            from fleet_server.broker.bootstrap import BootstrapError  # noqa: PLC0415

            raise BootstrapError(f"cannot read the {what} password file: {exc}") from None
    return line.rstrip("\r\n")


def cmd_init(args: argparse.Namespace) -> int:
    from fleet_server.broker.bootstrap import init_broker_dir, next_steps  # noqa: PLC0415

    if {args.admin_password_file, args.server_password_file} == {STDIN}:
        print("fleet-server: only one password can come from stdin", file=sys.stderr)
        return 2
    result = init_broker_dir(
        args.dir,
        admin_password=_read_secret(args.admin_password_file, "admin"),
        server_password=_read_secret(args.server_password_file, "server"),
        admin_username=args.admin_username,
        server_username=args.server_username,
        dns_names=args.host or (),
        ip_addresses=args.ip or (),
        key_type=args.key_type,
        owner=args.owner,
    )
    print(next_steps(result))
    return 0


def cmd_crl(args: argparse.Namespace) -> int:
    from fleet_server.broker.bootstrap import BrokerFiles  # noqa: PLC0415
    from fleet_server.broker.ca import ProvisioningCA  # noqa: PLC0415

    ca = ProvisioningCA(BrokerFiles(args.dir).ca_dir)
    path = ca.write_crl(next_update_days=args.days)
    revoked = len(ca.revoked_serials())
    print(f"{path}: {revoked} revoked certificate(s), valid {args.days} days")
    print("Mosquitto reads the CRL at start and on SIGHUP: systemctl reload mosquitto")
    return 0


def cmd_sync_acls(_args: argparse.Namespace) -> int:
    """The server's and every board's role to this version's ACLs."""
    from fleet_server.cli_support import load_settings  # noqa: PLC0415
    from fleet_server.db.connect import connect  # noqa: PLC0415
    from fleet_server.provisioning import ProvisioningBackend, ProvisioningError  # noqa: PLC0415

    settings = load_settings()
    with connect(settings.database_url, autocommit=True, application_name="fleet-broker") as db:
        boards = [
            str(r[0])
            for r in db.execute("SELECT id FROM boards WHERE removed_at IS NULL ORDER BY id")
        ]
    try:
        with ProvisioningBackend.from_settings(settings).broker() as admin:
            server, changed = admin.sync_acls(boards)  # type: ignore[attr-defined]
    except ProvisioningError as exc:
        print(f"fleet-server: {exc.reason}: {exc.detail}", file=sys.stderr)
        return 1
    print(f"server role: {'updated' if server else 'already current'}")
    print(f"board roles: {len(changed)} updated, {len(boards) - len(changed)} already current")
    return 0


def add_parser(sub: Any) -> None:
    """Add ``broker init``, ``broker crl`` and ``broker sync-acls``."""
    broker = sub.add_parser("broker", help="production Mosquitto: TLS, CA, accounts")
    broker_sub = broker.add_subparsers(dest="broker_command", required=True)
    init = broker_sub.add_parser(
        "init",
        help="create a broker directory: CA, server certificate, CRL, dynamic-security.json",
        description="Passwords are read from files (or '-' for stdin); a password not"
        " given is generated and printed once.",
    )
    init.add_argument("--dir", type=Path, required=True, help="the broker directory to create")
    init.add_argument("--admin-password-file", default=None, help="file or '-' (stdin)")
    init.add_argument("--server-password-file", default=None, help="file or '-' (stdin)")
    init.add_argument("--admin-username", default="fleet-admin")
    init.add_argument("--server-username", default="fleet-server")
    init.add_argument(
        "--host", action="append", help="DNS name boards dial (repeatable; SAN of the cert)"
    )
    init.add_argument("--ip", action="append", help="IP address boards dial (repeatable)")
    init.add_argument("--key-type", choices=["ec", "rsa"], default="ec")
    init.add_argument(
        "--owner", default=None, help="chown broker-read files to this user (e.g. mosquitto)"
    )
    init.set_defaults(func=cmd_init)
    crl = broker_sub.add_parser("crl", help="re-sign the certificate revocation list")
    crl.add_argument("--dir", type=Path, required=True)
    crl.add_argument("--days", type=int, default=180, help="validity (nextUpdate)")
    crl.set_defaults(func=cmd_crl)
    sync = broker_sub.add_parser(
        "sync-acls",
        help="after an upgrade: the server's and every board's role to this version's ACLs",
        description="Needs FLEET_DATABASE_URL and FLEET_BROKER_ADMIN_URL. Only roles"
        " change; each changed role's clients are disconnected once and reconnect.",
    )
    sync.set_defaults(func=cmd_sync_acls)
