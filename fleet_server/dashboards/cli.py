"""``fleet-server dashboards push``: Grafana's folder, data sources and
dashboards from this repository, over Grafana's HTTP API; ``dashboards
roles``: Grafana's read-only database roles.

Only argparse here; the work is imported when the command runs.
"""

from __future__ import annotations

import argparse
import os
import re
from pathlib import Path
from typing import Any

_UID = re.compile(r"^[A-Za-z0-9_-]{1,40}$")


def _uid(value: str) -> str:
    if not _UID.match(value):
        raise argparse.ArgumentTypeError("1 to 40 letters, digits, '-' or '_'")
    return value


def _option(value: str | None, variable: str) -> str | None:
    """The option, else the environment variable (kept off the command line,
    where other users of the machine could read a token or a password)."""
    return value if value is not None else (os.environ.get(variable) or None)


def cmd_push(args: argparse.Namespace) -> int:
    from fleet_server.dashboards import push as p  # noqa: PLC0415

    url = _option(args.grafana_url, "FLEET_GRAFANA_URL")
    if not url:
        raise p.DashboardPushError("no Grafana URL: give --grafana-url or FLEET_GRAFANA_URL")
    dashboards = p.load_dashboards(args.dir)  # a bad file stops us before Grafana is touched
    sources = []
    postgres_url = _option(args.postgres_url, "FLEET_GRAFANA_POSTGRES_URL")
    if postgres_url:
        sources.append(
            p.postgres_datasource(postgres_url, uid=args.postgres_uid, plugin=args.postgres_type)
        )
    prometheus_url = _option(args.prometheus_url, "FLEET_GRAFANA_PROMETHEUS_URL")
    if prometheus_url:
        sources.append(p.prometheus_datasource(prometheus_url, uid=args.prometheus_uid))
    grafana = p.Grafana(url, _option(args.token, "FLEET_GRAFANA_TOKEN") or "", timeout=args.timeout)
    report = p.push(
        grafana,
        dashboards,
        datasources=sources,
        folder_uid=args.folder_uid,
        folder_title=args.folder_title,
    )
    for line in report.lines():
        print(line)
    if not postgres_url or not prometheus_url:
        missing = [
            name
            for name, given in (("PostgreSQL", postgres_url), ("Prometheus", prometheus_url))
            if not given
        ]
        print(f"note: no {' or '.join(missing)} URL given: that data source was not pushed")
    if not dashboards:
        print(f"note: no dashboard files in {args.dir}")
    return 0


def cmd_roles(args: argparse.Namespace) -> int:
    from fleet_server.dashboards import roles as r  # noqa: PLC0415
    from fleet_server.settings import Settings  # noqa: PLC0415

    # the schema owner makes roles; the application's role may not
    url = _option(args.database_url, "FLEET_DATABASE_OWNER_URL") or _option(
        None, "FLEET_DATABASE_URL"
    )
    if not url:
        print(
            "no database URL: give --database-url, FLEET_DATABASE_OWNER_URL or FLEET_DATABASE_URL"
        )
        return 2
    done = r.sync_roles(url, jit=Settings().db_jit)  # FLEET_DB_JIT
    for reader, with_password in done:
        scope = reader.organisation_code or "every organisation"
        note = "" if with_password else f" ({reader.password_variable} not set: password unchanged)"
        print(f"{reader.role}: reads {scope}{note}")
    if args.datasources is not None:
        r.write_datasources(args.datasources, [reader for reader, _ in done])
        print(f"wrote {args.datasources}")
    return 0


def add_parser(sub: Any) -> None:
    """Add ``dashboards push`` to the top-level subparsers."""
    from fleet_server.dashboards.push import (  # noqa: PLC0415 - constants only, no deps
        DEFAULT_DASHBOARD_DIR,
        DEFAULT_FOLDER_TITLE,
        DEFAULT_FOLDER_UID,
        POSTGRES_TYPE,
        POSTGRES_UID,
        PROMETHEUS_UID,
    )

    dashboards = sub.add_parser("dashboards", help="Grafana dashboards as code")
    dashboards_sub = dashboards.add_subparsers(dest="dashboards_command", required=True)
    push = dashboards_sub.add_parser(
        "push",
        help="create or update the fleet's folder, data sources and dashboards in Grafana",
        description="Idempotent: everything is matched by uid, a second run updates what"
        " the first one made (unchanged dashboards are not written again). Exit status 1"
        " when Grafana cannot be reached or refuses a change; the message names the cause.",
    )
    push.add_argument(
        "--grafana-url", default=None, help="e.g. http://grafana:3000 (FLEET_GRAFANA_URL)"
    )
    push.add_argument(
        "--token",
        default=None,
        help="a Grafana service account token with the Admin role (FLEET_GRAFANA_TOKEN;"
        " prefer the variable: options are visible to other users of the machine)",
    )
    push.add_argument(
        "--dir",
        type=Path,
        default=DEFAULT_DASHBOARD_DIR,
        help=f"dashboard JSON files, each with a uid (default {DEFAULT_DASHBOARD_DIR})",
    )
    push.add_argument("--folder-uid", type=_uid, default=DEFAULT_FOLDER_UID)
    push.add_argument("--folder-title", default=DEFAULT_FOLDER_TITLE)
    push.add_argument(
        "--postgres-url",
        default=None,
        help="postgresql://reader:password@host:5432/fleet?sslmode=disable as Grafana reaches"
        " the database; a read-only account (FLEET_GRAFANA_POSTGRES_URL)",
    )
    push.add_argument("--postgres-uid", type=_uid, default=POSTGRES_UID)
    push.add_argument(
        "--postgres-type",
        choices=[POSTGRES_TYPE, "postgres"],
        default=POSTGRES_TYPE,
        help="the PostgreSQL plugin's id: 'postgres' for Grafana before 10.3",
    )
    push.add_argument(
        "--prometheus-url",
        default=None,
        help="e.g. http://prometheus:9090 as Grafana reaches it (FLEET_GRAFANA_PROMETHEUS_URL)",
    )
    push.add_argument("--prometheus-uid", type=_uid, default=PROMETHEUS_UID)
    push.add_argument("--timeout", type=float, default=10.0, help="seconds per request")
    push.set_defaults(func=cmd_push)

    roles = dashboards_sub.add_parser(
        "roles",
        help="create or update Grafana's read-only database roles, one per organisation",
        description="A reader per organisation that runs a site or guards border cameras"
        " (grafana_org_<code>) and one for the province (grafana_province): each may read"
        " the views of schema grafana, scoped to its organisation, and nothing else."
        " Passwords from FLEET_GRAFANA_DB_PASSWORD (province) and"
        " FLEET_GRAFANA_DB_PASSWORD_<ROLE>; an unset one is left as it is. Safe to run"
        " again, and to be run again after an upgrade.",
    )
    roles.add_argument(
        "--database-url",
        default=None,
        help="a role that may create roles and owns schema grafana"
        " (FLEET_DATABASE_OWNER_URL, else FLEET_DATABASE_URL)",
    )
    roles.add_argument(
        "--datasources",
        type=Path,
        default=None,
        help="also write Grafana's provisioning file for the organisations' data sources,"
        " e.g. dashboards/grafana/provisioning/datasources/organisations.yml",
    )
    roles.set_defaults(func=cmd_roles)
