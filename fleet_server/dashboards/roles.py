"""Grafana's database roles: one reader per organisation and one for the
province, each allowed the views of schema ``grafana`` (migration 0021) and
nothing else, and the provisioned data sources that log in as them.

A reader sees what the views show for its organisation (grafana_readers);
the province's reader sees every organisation. Passwords come from the
environment, never from a file: ``FLEET_GRAFANA_DB_PASSWORD`` for the
province, ``FLEET_GRAFANA_DB_PASSWORD_<ROLE>`` for the others (e.g.
``FLEET_GRAFANA_DB_PASSWORD_GRAFANA_ORG_BQL_KKT``); the data source file
names the same variables, which Grafana reads from its own environment.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

from fleet_server.db.connect import connect

log = logging.getLogger(__name__)

PROVINCE_ROLE = "grafana_province"
ORGANISATION_PREFIX = "grafana_org_"
PROVINCE_PASSWORD_VARIABLE = "FLEET_GRAFANA_DB_PASSWORD"  # noqa: S105 - a variable name
STATEMENT_TIMEOUT = "60s"


@dataclass(frozen=True, slots=True)
class Reader:
    role: str
    #: None for the province's reader (every organisation)
    organisation_id: int | None
    organisation_code: str | None
    organisation_name: str

    @property
    def password_variable(self) -> str:
        if self.organisation_id is None:
            return PROVINCE_PASSWORD_VARIABLE
        return f"{PROVINCE_PASSWORD_VARIABLE}_{self.role.upper()}"


def organisation_role(code: str, prefix: str = ORGANISATION_PREFIX) -> str:
    """``bql-kkt`` -> ``grafana_org_bql_kkt`` (codes are ``[a-z0-9-]``)."""
    return prefix + code.replace("-", "_")


def readers(
    conn: psycopg.Connection[Any],
    *,
    province_role: str = PROVINCE_ROLE,
    prefix: str = ORGANISATION_PREFIX,
) -> list[Reader]:
    """The province's reader, then one per organisation that runs a site or
    guards a border gate's cameras (the others have nothing to see)."""
    rows = conn.execute(
        """SELECT o.id, o.code, o.name FROM organisations o
           WHERE EXISTS (SELECT 1 FROM sites s
                         WHERE o.id IN (s.organisation_id, s.camera_guard_organisation_id))
           ORDER BY o.code"""
    ).fetchall()
    found = [Reader(province_role, None, None, "Tỉnh Lai Châu / Province")]
    found += [
        Reader(organisation_role(code, prefix), int(oid), code, name) for oid, code, name in rows
    ]
    return found


def _role_exists(conn: psycopg.Connection[Any], role: str) -> bool:
    row = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (role,)).fetchone()
    return row is not None


def apply_role(
    conn: psycopg.Connection[Any], reader: Reader, password: str | None, dbname: str
) -> None:
    """Create or update one reader: login (when a password is given), read
    only, the schema ``grafana`` and nothing of ``public``."""
    role = sql.Identifier(reader.role)
    if not _role_exists(conn, reader.role):
        conn.execute(
            sql.SQL(
                "CREATE ROLE {} NOLOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION"
                " NOBYPASSRLS"
            ).format(role)
        )
    if password:
        conn.execute(sql.SQL("ALTER ROLE {} LOGIN PASSWORD {}").format(role, sql.Literal(password)))
    conn.execute(sql.SQL("ALTER ROLE {} SET default_transaction_read_only = on").format(role))
    conn.execute(
        sql.SQL("ALTER ROLE {} SET statement_timeout = {}").format(
            role, sql.Literal(STATEMENT_TIMEOUT)
        )
    )
    conn.execute(sql.SQL("GRANT CONNECT ON DATABASE {} TO {}").format(sql.Identifier(dbname), role))
    # A reader made by an older grafana-reader.sh could read every table.
    conn.execute(sql.SQL("REVOKE ALL ON ALL TABLES IN SCHEMA public FROM {}").format(role))
    conn.execute(sql.SQL("GRANT USAGE ON SCHEMA grafana TO {}").format(role))
    conn.execute(sql.SQL("GRANT SELECT ON ALL TABLES IN SCHEMA grafana TO {}").format(role))
    conn.execute(sql.SQL("GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA grafana TO {}").format(role))
    conn.execute(
        """INSERT INTO grafana_readers (role_name, organisation_id, province)
           VALUES (%s, %s, %s)
           ON CONFLICT (role_name) DO UPDATE
               SET organisation_id = excluded.organisation_id, province = excluded.province,
                   updated_at = now()""",
        (reader.role, reader.organisation_id, reader.organisation_id is None),
    )


def sync_roles(
    url: str,
    *,
    environ: Mapping[str, str] | None = None,
    jit: bool = False,
    province_role: str = PROVINCE_ROLE,
    prefix: str = ORGANISATION_PREFIX,
) -> list[tuple[Reader, bool]]:
    """Every reader, made or updated in one transaction; returns each with
    whether a password was set. Needs a role that may create roles (the
    database owner of the compose stack) and owns the ``grafana`` schema.
    ``jit``: FLEET_DB_JIT, as on every connection of the fleet server."""
    env = os.environ if environ is None else environ
    done: list[tuple[Reader, bool]] = []
    with (
        connect(url, jit=jit, application_name="fleet-dashboards-roles") as conn,
        conn.transaction(),
    ):
        dbname = str(conn.info.dbname)
        for reader in readers(conn, province_role=province_role, prefix=prefix):
            password = env.get(reader.password_variable) or None
            apply_role(conn, reader, password, dbname)
            done.append((reader, password is not None))
            if password is None:
                log.warning(
                    "%s: %s is not set; its password is unchanged",
                    reader.role,
                    reader.password_variable,
                )
    return done


def datasources_yaml(found: list[Reader]) -> str:
    """Grafana's provisioning file for the organisations' data sources (the
    province's is ``fleet-postgres`` in fleet.yml). Written by hand rather
    than by a YAML library to keep the comments and the ``${VAR}``s."""
    lines = [
        "# Written by `fleet-server dashboards roles --datasources …`; do not edit by hand.",
        "# One PostgreSQL data source per organisation, logging in as its reader role",
        "# (docs/dashboards.md, 'What Grafana reads'): the views of schema grafana show",
        "# it only its organisation's sites. Passwords come from Grafana's environment.",
        "apiVersion: 1",
        "",
        "datasources:",
    ]
    for reader in found:
        if reader.organisation_code is None:
            continue
        lines += [
            f"  - name: Fleet PostgreSQL – {reader.organisation_code}",
            f"    uid: fleet-postgres-{reader.organisation_code}",
            "    type: grafana-postgresql-datasource",
            "    access: proxy",
            "    url: ${FLEET_GRAFANA_DB_HOST}",
            f"    user: {reader.role}",
            "    editable: false",
            "    jsonData:",
            "      database: ${FLEET_GRAFANA_DB_NAME}",
            "      sslmode: disable",
            "      timescaledb: true",
            "      postgresVersion: 1600",
            "      maxOpenConns: 4",
            "      maxIdleConns: 1",
            "      connMaxLifetime: 14400",
            "    secureJsonData:",
            f"      password: ${{{reader.password_variable}}}",
        ]
    return "\n".join(lines) + "\n"


def write_datasources(path: Path, found: list[Reader]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(datasources_yaml(found), encoding="utf-8")
