"""``fleet-server releases publish|list``: the subcommands that use the
server's database and settings (registered through ``releases/cli.py``'s
``SERVER_COMMANDS``). Publishing checks the manifest's signature against
FLEET_RELEASE_PUBLIC_KEYS and the artifact against the manifest, copies it
into FLEET_RELEASES_DIR and registers it (audited)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any


def cmd_publish(args: argparse.Namespace) -> int:
    from datetime import UTC, datetime  # noqa: PLC0415

    from fleet_server.cli_support import cli_actor, load_settings  # noqa: PLC0415
    from fleet_server.db.connect import connect  # noqa: PLC0415
    from fleet_server.errors import RequestError  # noqa: PLC0415
    from fleet_server.releases import service  # noqa: PLC0415

    settings = load_settings()
    try:
        manifest_data = service.read_manifest(Path(args.manifest).read_bytes())
        with open(args.artifact, "rb") as artifact, connect(settings.database_url) as conn:
            release = service.publish(
                conn,
                cli_actor(),
                manifest_data=manifest_data,
                artifact=artifact,
                public_keys=service.trusted_keys(settings),
                root=service.releases_root(settings),
                notes=args.notes,
                now=datetime.now(UTC),
            )
            conn.commit()
    except (OSError, RequestError) as exc:
        print(f"fleet-server: {getattr(exc, 'detail', exc)}", file=sys.stderr)
        return 1
    print(f"published edge-agent {release.version} ({release.size} bytes, key {release.key_id})")
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    from fleet_server.cli_support import load_settings  # noqa: PLC0415
    from fleet_server.db.connect import connect  # noqa: PLC0415
    from fleet_server.releases import storage  # noqa: PLC0415

    with connect(load_settings().database_url) as conn:
        found = storage.newest(conn)
    for release in found:
        print(
            f"{release.version}\t{release.created_at:%Y-%m-%d %H:%M}\t{release.size}\t"
            f"{release.key_id}\t{release.created_by}\t{release.notes or ''}"
        )
    return 0


def add_subcommands(rsub: Any) -> None:
    publish = rsub.add_parser(
        "publish", help="register a signed release with the server (checked, then copied)"
    )
    publish.add_argument("manifest", type=Path, help="edge-agent-<version>.manifest.json")
    publish.add_argument("--artifact", type=Path, required=True, help="the .tar.gz it names")
    publish.add_argument("--notes", default=None, help="what the release changes")
    publish.set_defaults(func=cmd_publish)
    listing = rsub.add_parser("list", help="the published releases, newest first")
    listing.set_defaults(func=cmd_list)
