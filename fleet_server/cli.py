"""``fleet-server`` command line: one entry point, one subcommand per role."""

from __future__ import annotations

import argparse
import importlib
import json
import logging
import sys
import threading
from collections.abc import Callable, Sequence
from pathlib import Path

from pydantic import ValidationError

from fleet_server.cli_support import load_settings, stop_event
from fleet_server.errors import FleetError
from fleet_server.settings import Settings

log = logging.getLogger("fleet_server")


def cmd_migrate(_args: argparse.Namespace) -> int:
    from fleet_server.db.migrate import migrate  # noqa: PLC0415 - keep start-up light
    from fleet_server.db.roles import url_user  # noqa: PLC0415

    settings = load_settings()
    if settings.database_owner_url is None:
        log.warning(
            "FLEET_DATABASE_OWNER_URL is not set: the services connect as the schema owner,"
            " who can rewrite the audit log (docs/deployment.md, Database roles)"
        )
        applied = migrate(settings.database_url)
    else:
        # The owner migrates; the user of FLEET_DATABASE_URL is the application role.
        app_role, app_password = url_user(settings.database_url)
        if app_role is None:
            log.error("FLEET_DATABASE_URL names no user: cannot grant the application role")
            return 2
        applied = migrate(settings.database_owner_url, app_role=app_role, app_password=app_password)
    print("applied: " + ", ".join(applied) if applied else "database is up to date")
    return 0


def cmd_ingest(_args: argparse.Namespace) -> int:
    from fleet_server.ingest.service import IngestService  # noqa: PLC0415
    from fleet_server.metrics import IngestMetrics, new_registry, serving  # noqa: PLC0415
    from fleet_server.metrics.access import metrics_token  # noqa: PLC0415

    settings = load_settings()
    service = IngestService(settings, IngestMetrics(new_registry()))
    with serving(
        service.metrics.registry,
        settings.metrics_host,
        settings.ingest_metrics_port,
        metrics_token(settings),
    ):
        service.run_forever(stop_event())
    print(json.dumps(service.stats.snapshot()))
    return 1 if service.consumer.fatal else 0


def cmd_api(args: argparse.Namespace) -> int:
    import uvicorn  # noqa: PLC0415

    from fleet_server.api.app import create_app  # noqa: PLC0415

    settings = load_settings()
    app = create_app(settings)
    uvicorn.run(
        app,
        host=args.host or settings.api_host,
        port=args.port or settings.api_port,
        log_level="info",
        proxy_headers=False,
        server_header=False,
    )
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from fleet_server.demo import DemoOptions, run_demo  # noqa: PLC0415

    opts = DemoOptions(
        boards=args.boards,
        mqtt_port=args.mqtt_port,
        data_dir=args.data_dir,
        scenario=args.scenario,
        duration=args.duration,
        api_port=args.api_port,
    )
    run_demo(opts, stop_event())
    return 0


def cmd_simulate(args: argparse.Namespace) -> int:
    from fleet_server.simulator.simulate import run_simulation  # noqa: PLC0415

    settings = Settings()
    fleet = run_simulation(
        args.boards,
        args.scenario,
        settings.mqtt_url,
        stop_event(),
        duration=args.duration,
        heartbeat_s=args.heartbeat,
        database_url=settings.database_url if args.seed else None,
        db_jit=settings.db_jit,
    )
    print(
        json.dumps(
            {
                "boards": len(fleet.boards),
                "connected_at_end": fleet.connected_count(),
                "messages_acknowledged": fleet.sent,
                "telemetry_published": fleet.telemetry_published,
            }
        )
    )
    return 0


def cmd_engine(args: argparse.Namespace) -> int:
    from fleet_server.content.service_files import store_from_settings  # noqa: PLC0415
    from fleet_server.engine.alerts import AlertSettings  # noqa: PLC0415
    from fleet_server.engine.service import Engine, EngineSettings  # noqa: PLC0415
    from fleet_server.metrics import (  # noqa: PLC0415
        EngineMetrics,
        NotificationMetrics,
        new_registry,
        serving,
    )
    from fleet_server.metrics.access import check_listener, metrics_token  # noqa: PLC0415
    from fleet_server.notifications.worker import NotificationWorker  # noqa: PLC0415
    from fleet_server.rollouts.job import settings_from as rollout_settings  # noqa: PLC0415
    from fleet_server.tickets.notices import TicketNoticeSettings  # noqa: PLC0415

    settings = load_settings()
    token = metrics_token(settings)
    if settings.engine_metrics_port:
        check_listener(settings.metrics_host, token)  # before the delivery worker starts
    registry = new_registry()  # the engine's and the delivery worker's families
    stop = stop_event()
    worker = None
    if not args.no_notifications:
        # Delivery runs beside the engine; several may run, rows are claimed
        # with SKIP LOCKED.
        worker = NotificationWorker(
            settings.database_url,
            settings.notification_settings(),
            metrics=NotificationMetrics(registry),
        )
        thread = threading.Thread(target=worker.run_forever, args=(stop,), name="notify")
        thread.start()
    try:
        engine = Engine(
            settings.database_url,
            EngineSettings(
                compliance=settings.compliance_settings(),
                content_files=store_from_settings(settings),
                content_files_keep_days=settings.content_files_keep_days,
                snapshot_keep_days=settings.snapshot_keep_days,
                log_bundle_keep_days=settings.log_bundle_keep_days,
                data_usage_keep_days=settings.data_usage_keep_days,
                data_budget_agent_version=settings.data_budget_agent_version,
                report_reminder_days=settings.report_reminder_days,
                db_jit=settings.db_jit,
                rollouts=rollout_settings(settings),
                data_budget_default=(
                    None if settings.data_budget_mb is None else settings.data_budget_mb * 10**6
                ),
                alerts=AlertSettings(
                    tickets=TicketNoticeSettings(
                        due_soon_s=settings.ticket_due_soon_h * 3600,
                        escalate_after_s=settings.ticket_escalate_after_h * 3600,
                    )
                ),
            ),
            metrics=EngineMetrics(registry),
        )
        with serving(registry, settings.metrics_host, settings.engine_metrics_port, token):
            engine.run_forever(stop)
    finally:
        stop.set()
        if worker is not None:
            thread.join(30)
            worker.close()
    return 0


def cmd_create_admin(args: argparse.Namespace) -> int:
    import getpass  # noqa: PLC0415

    from fleet_server.db.connect import connect  # noqa: PLC0415
    from fleet_server.users.models import UserError  # noqa: PLC0415
    from fleet_server.users.passwords import WeakPassword  # noqa: PLC0415
    from fleet_server.users.service import create_account  # noqa: PLC0415

    # No default password anywhere: read it from the terminal, or from stdin
    # when piped (for provisioning scripts).
    if sys.stdin.isatty():
        password = getpass.getpass("Mật khẩu / Password: ")
        if getpass.getpass("Nhập lại / Again: ") != password:
            print("fleet-server: the passwords differ", file=sys.stderr)
            return 2
    else:
        password = sys.stdin.readline().rstrip("\n")
    try:
        with connect(load_settings().database_url, autocommit=True) as conn:
            user_id = create_account(
                conn,
                username=args.username,
                full_name=args.full_name,
                role="admin",
                password=password,
                email=args.email,
                actor="system:create-admin",
            )
    except (UserError, WeakPassword) as exc:
        print(f"fleet-server: {exc}", file=sys.stderr)
        return 2
    print(f"admin {args.username!r} created (id {user_id})")
    return 0


#: The feature folders' command groups (``fleet-server broker …``, ``boards …``),
#: each module with ``add_parser(sub)``.
FEATURE_COMMANDS: tuple[str, ...] = (
    "fleet_server.broker.cli",
    "fleet_server.provisioning.cli",
    "fleet_server.content.cli",
    "fleet_server.dashboards.cli",
    "fleet_server.reports.cli",
    "fleet_server.db.cli",
    "fleet_server.users.audit_cli",
    "fleet_server.releases.cli",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="fleet-server",
        description="Fleet server for Lai Chau's public electronic information boards.",
    )
    parser.add_argument(
        "--log-level",
        default=None,
        choices=["DEBUG", "INFO", "WARNING", "ERROR"],
        help="default INFO (WARNING for demo and simulate, whose output is a timeline)",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    commands: dict[str, tuple[str, Callable[[argparse.Namespace], int]]] = {
        "migrate": ("apply database migrations (safe to run twice)", cmd_migrate),
        "ingest": ("consume board messages from MQTT into PostgreSQL", cmd_ingest),
        "engine": ("board state, rules and incidents (one active, others stand by)", cmd_engine),
    }
    for name, (help_text, func) in commands.items():
        p = sub.add_parser(name, help=help_text)
        p.set_defaults(func=func)
    from fleet_server.simulator.scenarios import SCENARIOS  # noqa: PLC0415 - only for the choices

    scenarios = list(SCENARIOS)
    for p in sub.choices.values():
        if p.prog.endswith(" engine"):
            p.add_argument(
                "--no-notifications",
                action="store_true",
                help="do not run the notification delivery worker here",
            )
    api = sub.add_parser("api", help="REST API and web console (FastAPI)")
    api.add_argument("--host", default=None, help="default FLEET_API_HOST (127.0.0.1)")
    api.add_argument("--port", type=int, default=None, help="default FLEET_API_PORT (8080)")
    api.set_defaults(func=cmd_api)
    users = sub.add_parser("users", help="personal accounts")
    users_sub = users.add_subparsers(dest="users_command", required=True)
    admin = users_sub.add_parser("create-admin", help="create an administrator account")
    admin.add_argument("username")
    admin.add_argument("--full-name", required=True)
    admin.add_argument("--email", default=None)
    admin.set_defaults(func=cmd_create_admin)
    demo = sub.add_parser("demo", help="run the whole platform with a simulated fleet")
    demo.add_argument("--boards", type=int, default=20)
    demo.add_argument("--mqtt-port", type=int, default=18830)
    demo.add_argument("--api-port", type=int, default=8080, help="web console and API")
    demo.add_argument(
        "--data-dir", type=Path, default=None, help="default: $XDG_DATA_HOME/laichau-fleet/demo"
    )
    demo.add_argument("--scenario", choices=scenarios, default="normal")
    demo.add_argument(
        "--duration",
        type=float,
        default=None,
        help="stop after this many seconds (default: Ctrl-C); each scenario prints the"
        " duration that shows all of it",
    )
    demo.set_defaults(func=cmd_demo)
    sim = sub.add_parser("simulate", help="simulated boards against FLEET_MQTT_URL")
    sim.add_argument("--boards", type=int, default=100)
    sim.add_argument("--scenario", choices=scenarios, default="normal")
    sim.add_argument("--duration", type=float, default=None)
    sim.add_argument("--heartbeat", type=float, default=None, help="heartbeat seconds")
    sim.add_argument(
        "--seed", action="store_true", help="also write the boards into FLEET_DATABASE_URL"
    )
    sim.set_defaults(func=cmd_simulate)
    for module in FEATURE_COMMANDS:  # each with add_parser(sub); imported only here
        importlib.import_module(module).add_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    quiet = args.command in ("demo", "simulate")
    logging.basicConfig(
        level=args.log_level or ("WARNING" if quiet else "INFO"),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        return int(args.func(args))
    except ValidationError as exc:
        print(f"fleet-server: bad setting: {exc}", file=sys.stderr)
        return 2
    except FleetError as exc:
        print(f"fleet-server: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
