"""``fleet-server releases ...``: signing keys, artifacts and manifests.

``keygen``, ``build``, ``sign`` and ``verify`` need no database and no
settings: they run on the offline signing machine, where the private key
lives (never on the server that serves boards). The subcommands that talk
to the server's database (``publish``, ``list``) come from the modules in
``SERVER_COMMANDS``.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from pathlib import Path
from typing import Any

#: Modules adding the database subcommands, each with ``add_subcommands(sub)``.
SERVER_COMMANDS: tuple[str, ...] = ("fleet_server.releases.cli_server",)


def _failed(exc: Exception) -> int:
    print(f"fleet-server: {exc}", file=sys.stderr)
    return 1


def cmd_keygen(args: argparse.Namespace) -> int:
    from fleet_server.releases import signing  # noqa: PLC0415 - cryptography only here

    try:
        kid, private, public = signing.keygen(args.out)
    except (signing.SigningError, OSError) as exc:
        return _failed(exc)
    raw = public.read_text().strip()
    print(f"key id: {kid}")
    print(f"private key: {private} (keep it on this offline machine, never on the server)")
    print(f"public key: {public}")
    print(f"server: FLEET_RELEASE_PUBLIC_KEYS={kid}:{raw}")
    print(f'board (agent.toml): [update.public_keys] {kid} = "{raw}"')
    return 0


def cmd_build(args: argparse.Namespace) -> int:
    from fleet_server.releases import bundle  # noqa: PLC0415

    try:
        path = bundle.build(args.version, args.out, vendor_deps=args.vendor_deps)
    except (bundle.BuildError, OSError) as exc:
        return _failed(exc)
    print(path)
    return 0


def cmd_sign(args: argparse.Namespace) -> int:
    from fleet_server.releases import signing  # noqa: PLC0415

    try:
        path = signing.sign(args.artifact, args.key)
    except (signing.SigningError, OSError) as exc:
        return _failed(exc)
    print(path)
    return 0


def cmd_verify(args: argparse.Namespace) -> int:
    from fleet_server.releases import signing  # noqa: PLC0415

    try:
        manifest = signing.verify_files(args.manifest, args.public_key)
    except (signing.SigningError, OSError) as exc:
        return _failed(exc)
    print(f"ok: edge-agent {manifest.version}, key {manifest.key_id}, sha256 {manifest.sha256}")
    return 0


def add_parser(sub: Any) -> None:
    releases = sub.add_parser("releases", help="agent releases: keys, build, sign, publish")
    rsub = releases.add_subparsers(dest="releases_command", required=True)
    keygen = rsub.add_parser("keygen", help="a new Ed25519 signing key pair (offline machine)")
    keygen.add_argument("--out", type=Path, required=True, help="directory (mode 0700)")
    keygen.set_defaults(func=cmd_keygen)
    build = rsub.add_parser("build", help="the agent as edge-agent-<version>.tar.gz")
    build.add_argument("--version", required=True)
    build.add_argument("--out", type=Path, required=True)
    build.add_argument(
        "--vendor-deps",
        action="store_true",
        help="also the dependencies (pip, for this machine's architecture and Python)",
    )
    build.set_defaults(func=cmd_build)
    sign = rsub.add_parser("sign", help="write the signed manifest beside an artifact")
    sign.add_argument("artifact", type=Path)
    sign.add_argument("--key", type=Path, required=True, help="the private key file")
    sign.set_defaults(func=cmd_sign)
    verify = rsub.add_parser("verify", help="check a manifest and its artifact")
    verify.add_argument("manifest", type=Path)
    verify.add_argument("--public-key", type=Path, required=True)
    verify.set_defaults(func=cmd_verify)
    for module in SERVER_COMMANDS:
        importlib.import_module(module).add_subcommands(rsub)
