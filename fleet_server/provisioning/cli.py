"""``fleet-server boards ...``: provision boards from the command line.

Settings come from the environment as for every role (FLEET_DATABASE_URL,
FLEET_BROKER_ADMIN_URL, FLEET_PROVISIONING_CA_DIR, …; docs/provisioning.md).
Actions are audited as ``system:cli:<OS user>``.
"""

from __future__ import annotations

import argparse
import os
import sys
from datetime import date
from pathlib import Path, PurePosixPath
from typing import Any

from fleet_server.provisioning import DEFAULT_BOARD_DIR


def _actor() -> Any:
    from fleet_server.access.principal import Actor  # noqa: PLC0415
    from fleet_server.cli_support import cli_actor  # noqa: PLC0415

    return Actor(cli_actor())


def _service() -> Any:
    from fleet_server.cli_support import load_settings  # noqa: PLC0415
    from fleet_server.provisioning import ProvisioningBackend, ProvisioningService  # noqa: PLC0415

    settings = load_settings()
    return settings, ProvisioningService(ProvisioningBackend.from_settings(settings))


def _connect(settings: Any) -> Any:
    from fleet_server.db.connect import connect  # noqa: PLC0415

    return connect(settings.database_url, autocommit=True, application_name="fleet-provision")


def _writable(out: Path | None) -> bool:
    """Check the output directory before anything is provisioned: credentials
    that cannot be written are lost."""
    if out is None:
        return True
    try:
        out.mkdir(parents=True, exist_ok=True, mode=0o700)
    except OSError as exc:
        print(f"fleet-server: cannot create {out}: {exc.strerror}", file=sys.stderr)
        return False
    if not os.access(out, os.W_OK | os.X_OK):
        print(f"fleet-server: {out} is not writable", file=sys.stderr)
        return False
    return True


def _failed(exc: Any) -> int:
    print(f"fleet-server: {exc.reason}: {exc.detail}", file=sys.stderr)
    return 1


def _show(done: Any, out: Path | None, board_dir: PurePosixPath) -> None:
    """Write the bundle into ``out``, or print it (shown once either way)."""
    bundle = done.bundle
    if out is not None:
        for path in bundle.write(out):
            print(f"  wrote {path}")
        secrets = ", ".join(bundle.secret_files())
        print(f"  copy them to {board_dir}/ on the board")
        print(f"  keep {secrets} secret (mode 0600); the server has no copy")
        return
    print("---- agent.toml ----")
    print(bundle.agent_toml, end="")
    for name, (content, mode) in bundle.files().items():
        if name == "agent.toml":
            continue
        print(f"---- {name} (mode {mode:04o}) ----")
        print(content.decode(), end="" if content.endswith(b"\n") else "\n")
    print("---- end: shown once, the server keeps no copy of the secret ----")


def _notes(done: Any) -> None:
    for note in done.notes:
        print(f"  note: {note}")


def cmd_add(args: argparse.Namespace) -> int:
    from fleet_server.provisioning import CameraSpec, NewBoard, ProvisioningError  # noqa: PLC0415

    if not _writable(args.out):
        return 2
    cameras = []
    for item in args.camera or []:
        camera_id, _, name = item.partition(":")
        cameras.append(CameraSpec(camera_id.strip(), name.strip() or f"Camera {camera_id}"))
    spec = NewBoard(
        board_id=args.board_id,
        name=args.name,
        site=args.site,
        model=args.model,
        serial=args.serial,
        installed_on=args.installed_on,
        heartbeat_interval_s=args.heartbeat,
        cameras=tuple(cameras),
        auth=args.auth,
    )
    settings, service = _service()
    try:
        with _connect(settings) as conn:
            done = service.add_board(conn, spec, _actor(), board_dir=args.board_dir)
    except ProvisioningError as exc:
        return _failed(exc)
    print(f"board {done.board.id} provisioned at {done.board.site_code} ({done.bundle.auth})")
    _show(done, args.out, args.board_dir)
    _notes(done)
    return 0


def _change(args: argparse.Namespace, what: str) -> int:
    from fleet_server.provisioning import ProvisioningError  # noqa: PLC0415

    settings, service = _service()
    operation = {
        "disable": service.disable_board,
        "enable": service.enable_board,
        "remove": service.remove_board,
    }[what]
    try:
        with _connect(settings) as conn:
            done = operation(conn, args.board_id, _actor())
    except ProvisioningError as exc:
        return _failed(exc)
    print(f"board {done.board.id} {what}d")
    _notes(done)
    return 0


def cmd_disable(args: argparse.Namespace) -> int:
    return _change(args, "disable")


def cmd_enable(args: argparse.Namespace) -> int:
    return _change(args, "enable")


def cmd_remove(args: argparse.Namespace) -> int:
    return _change(args, "remove")


def cmd_rotate(args: argparse.Namespace) -> int:
    from fleet_server.provisioning import ProvisioningError  # noqa: PLC0415

    if not _writable(args.out):
        return 2
    settings, service = _service()
    try:
        with _connect(settings) as conn:
            done = service.rotate_credentials(
                conn, args.board_id, _actor(), auth=args.auth, board_dir=args.board_dir
            )
    except ProvisioningError as exc:
        return _failed(exc)
    print(f"board {done.board.id} has new credentials ({done.bundle.auth}); the old ones are void")
    _show(done, args.out, args.board_dir)
    _notes(done)
    return 0


def cmd_import(args: argparse.Namespace) -> int:
    from fleet_server.provisioning import ImportFileError, ProvisioningError  # noqa: PLC0415
    from fleet_server.provisioning.csvimport import import_boards  # noqa: PLC0415

    try:
        text = args.file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        print(f"fleet-server: cannot read {args.file}: {exc}", file=sys.stderr)
        return 2
    if not _writable(args.out):
        return 2
    unwritten: list[str] = []

    def report(row: Any) -> None:
        if not row.ok:
            print(f"line {row.row}: {row.board_id or '?'}: FAILED {row.reason}: {row.detail}")
            return
        done = row.provisioned
        where = args.out / done.board.id
        try:
            done.bundle.write(where)
        except OSError as exc:
            unwritten.append(done.board.id)
            print(
                f"line {row.row}: {done.board.id}: provisioned, but its files could not be"
                f" written ({exc.strerror}): rotate its credentials"
            )
            return
        print(f"line {row.row}: {done.board.id}: provisioned ({done.bundle.auth}) -> {where}/")

    settings, service = _service()
    try:
        with _connect(settings) as conn:
            result = import_boards(
                service,
                conn,
                text,
                _actor(),
                source=str(args.file),
                board_dir=args.board_dir,
                on_row=report,
            )
    except ImportFileError as exc:
        print(f"fleet-server: {args.file}: {exc.detail}", file=sys.stderr)
        return 2
    except ProvisioningError as exc:
        return _failed(exc)
    print(f"{args.file}: {result.summary()}")
    if result.provisioned:
        print(f"copy each board's directory under {args.out}/ to {args.board_dir}/ on the board")
    return 1 if result.failed or unwritten else 0


def add_parser(sub: Any) -> None:
    """Add ``boards add|disable|enable|rotate-credentials|remove|import``."""
    boards = sub.add_parser(
        "boards", help="provision boards: database row, broker account, credentials"
    )
    boards_sub = boards.add_subparsers(dest="boards_command", required=True)

    def files(p: argparse.ArgumentParser, *, required: bool = False) -> None:
        p.add_argument(
            "--out",
            type=Path,
            required=required,
            help="write agent.toml and the credentials here (secrets 0600)"
            + ("" if required else "; default: print them"),
        )
        p.add_argument(
            "--board-dir",
            type=PurePosixPath,
            default=DEFAULT_BOARD_DIR,
            help=f"where the files go on the board (agent.toml points there; {DEFAULT_BOARD_DIR})",
        )

    add = boards_sub.add_parser("add", help="provision one board")
    add.add_argument("board_id")
    add.add_argument("--site", required=True, help="the site's code, e.g. ma-lu-thang")
    add.add_argument("--name", required=True)
    add.add_argument("--model", default=None)
    add.add_argument("--serial", default=None)
    add.add_argument("--installed-on", type=date.fromisoformat, default=None, help="YYYY-MM-DD")
    add.add_argument("--heartbeat", type=int, default=None, help="heartbeat interval, seconds")
    add.add_argument("--camera", action="append", help="ID or ID:NAME of a camera (repeatable)")
    add.add_argument("--auth", choices=["password", "certificate"], default="password")
    files(add)
    add.set_defaults(func=cmd_add)
    for name, func, text in (
        ("disable", cmd_disable, "disable a board: refused and disconnected at once"),
        ("enable", cmd_enable, "enable a disabled board"),
        ("remove", cmd_remove, "delete a board's broker account; keep its row and history"),
    ):
        p = boards_sub.add_parser(name, help=text)
        p.add_argument("board_id")
        p.set_defaults(func=func)
    rotate = boards_sub.add_parser(
        "rotate-credentials", help="new password or certificate; the old one stops working"
    )
    rotate.add_argument("board_id")
    rotate.add_argument(
        "--auth", choices=["password", "certificate"], default=None, help="switch method"
    )
    files(rotate)
    rotate.set_defaults(func=cmd_rotate)
    bulk = boards_sub.add_parser(
        "import",
        help="provision boards from a CSV file, with a report per row",
        description="Columns: board_id,site,name (required), model,serial,installed_on,"
        "cameras,auth,heartbeat_interval_s. cameras: 'cam1:Name;cam2'. Each board's files"
        " go to OUT/<board_id>/. Exit status 1 when any row failed.",
    )
    bulk.add_argument("file", type=Path)
    files(bulk, required=True)
    bulk.set_defaults(func=cmd_import)
