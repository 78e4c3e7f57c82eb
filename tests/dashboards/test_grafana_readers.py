"""Grafana's database roles (`fleet-server dashboards roles`, migration 0021):
a reader reads the views of schema grafana and nothing else, each
organisation's reader sees only its own sites' data, the province's sees
everything, and every dashboard query runs as each of them."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg import sql

from fleet_server.dashboards import roles as grafana_roles
from tests.dashboards.conftest import SeededFleet, grafana_connection
from tests.dashboards.test_grafana_dashboards import (
    EXPECTED,
    Grafana,
    dashboards,
    english,
    is_postgres,
    options,
    panels,
    run,
    timescaledb_flag,
)

SECRETS = ("users", "api_tokens", "contacts", "dead_letters", "audit_log", "grafana_readers")

#: view -> how a row names its board (None: checked on its own below)
BOARD_COLUMN = {
    "boards": "id",
    "cameras": "board_id",
    "telemetry_camera": "device_id",
    "camera_hourly": "device_id",
    "board_status": "board_id",
    "board_status_history": "board_id",
    "power_hourly": "device_id",
    "telemetry_power": "device_id",
    "network_hourly": "device_id",
    "compliance_days": "board_id",
}
#: views that also show the border gates an organisation guards (cameras only)
GUARDED = {"sites", "boards", "cameras", "telemetry_camera", "camera_hourly"}


def owner(fleet: SeededFleet) -> psycopg.Connection[Any]:
    return psycopg.connect(fleet.url, autocommit=True)


def grafana_views(fleet: SeededFleet) -> list[str]:
    with owner(fleet) as conn:
        rows = conn.execute(
            "SELECT viewname FROM pg_views WHERE schemaname = 'grafana' ORDER BY 1"
        ).fetchall()
    return [str(r[0]) for r in rows]


def base_tables(fleet: SeededFleet) -> list[str]:
    """Every table, view and materialised view outside schema grafana, the
    catalogs and TimescaleDB's own schemas."""
    with owner(fleet) as conn:
        rows = conn.execute(
            """SELECT format('%I.%I', n.nspname, c.relname) FROM pg_class c
               JOIN pg_namespace n ON n.oid = c.relnamespace
               WHERE c.relkind IN ('r', 'p', 'v', 'm')
                 AND n.nspname NOT IN ('grafana', 'pg_catalog', 'information_schema')
                 AND n.nspname NOT LIKE '\\_timescaledb%' AND n.nspname NOT LIKE 'timescaledb%'
                 AND n.nspname NOT LIKE 'pg\\_toast%'
               ORDER BY 1"""
        ).fetchall()
    return [str(r[0]) for r in rows]


@pytest.fixture(scope="module")
def roles(fleet: SeededFleet) -> dict[str, str]:
    """label -> role: the province, two organisations that run sites, the
    Border Guard (guards border gates' cameras, runs no site)."""
    return {
        "province": fleet.reader,
        "bql-kkt": fleet.readers["bql-kkt"],
        "ubnd-phong-tho": fleet.readers["ubnd-phong-tho"],
        "bdbp": fleet.readers["bdbp"],
    }


@pytest.fixture(scope="module")
def connections(fleet: SeededFleet, roles: dict[str, str]) -> Iterator[dict[str, Any]]:
    conns = {label: grafana_connection(fleet, role) for label, role in roles.items()}
    yield conns
    for conn in conns.values():
        conn.close()


def rows_of(conn: Any, query: str | sql.Composed, *args: Any) -> list[tuple[Any, ...]]:
    with conn.transaction():
        return list(conn.execute(query, args or None).fetchall())


# ------------------------------------------------------------------ what a reader cannot do


@pytest.mark.parametrize("label", ["province", "bql-kkt", "bdbp"])
def test_a_reader_cannot_select_any_base_table(
    fleet: SeededFleet, connections: dict[str, Any], label: str
) -> None:
    """Not users' password hashes, API tokens, contacts' webhook secrets,
    dead letters, the audit log — no table at all, only the views."""
    conn = connections[label]
    tables = base_tables(fleet)
    assert {f"public.{name}" for name in SECRETS} <= set(tables)
    for table in tables:
        with pytest.raises(psycopg.errors.InsufficientPrivilege), conn.transaction():
            conn.execute(sql.SQL("SELECT 1 FROM {} LIMIT 1").format(sql.SQL(table)))


@pytest.mark.parametrize("label", ["province", "bql-kkt"])
def test_a_reader_writes_nothing_and_calls_no_base_function(
    fleet: SeededFleet, connections: dict[str, Any], label: str
) -> None:
    conn = connections[label]
    with pytest.raises(psycopg.errors.ReadOnlySqlTransaction), conn.transaction():
        conn.execute("CREATE TABLE grafana.x (a int)")
    with conn.transaction():
        conn.execute("SET TRANSACTION READ WRITE")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("DELETE FROM grafana.boards")
    with pytest.raises(psycopg.errors.InsufficientPrivilege), conn.transaction():
        conn.execute(
            "SELECT * FROM public.fleet_board_availability(now() - interval '1 day', now())"
        )
    with pytest.raises(psycopg.errors.InsufficientPrivilege), conn.transaction():
        conn.execute("SELECT public.grafana_reader_site_ids(current_user, NULL)")


# --------------------------------------------------------------------------- what each reader sees


def board_organisations(fleet: SeededFleet) -> dict[str, tuple[int, int | None]]:
    """board -> (organisation running its site, organisation guarding its cameras)"""
    with owner(fleet) as conn:
        rows = conn.execute(
            "SELECT b.id, s.organisation_id, s.camera_guard_organisation_id"
            " FROM boards b JOIN sites s ON s.id = b.site_id"
        ).fetchall()
    return {str(b): (int(o), None if g is None else int(g)) for b, o, g in rows}


def organisation_id(fleet: SeededFleet, code: str) -> int:
    with owner(fleet) as conn:
        row = conn.execute("SELECT id FROM organisations WHERE code = %s", (code,)).fetchone()
    assert row is not None
    return int(row[0])


@pytest.mark.parametrize("code", ["bql-kkt", "ubnd-phong-tho", "bdbp"])
def test_an_organisation_reader_sees_only_its_sites(
    fleet: SeededFleet, connections: dict[str, Any], code: str
) -> None:
    conn = connections[code]
    org = organisation_id(fleet, code)
    boards = board_organisations(fleet)
    runs = {b for b, (o, _) in boards.items() if o == org}
    guards = {b for b, (_, g) in boards.items() if g == org}
    views = grafana_views(fleet)
    assert set(BOARD_COLUMN) | {"organisations", "sites", "incidents", "tickets"} <= set(views)
    for view, column in BOARD_COLUMN.items():
        seen = {
            str(r[0])
            for r in rows_of(
                conn,
                sql.SQL("SELECT DISTINCT {} FROM grafana.{}").format(
                    sql.Identifier(column), sql.Identifier(view)
                ),
            )
        }
        allowed = runs | guards if view in GUARDED else runs
        assert seen <= allowed, f"{code} sees other organisations' boards in grafana.{view}"
        if view in ("boards", "power_hourly", "compliance_days"):
            assert seen == allowed, f"{code}: grafana.{view} misses its own boards"
    assert rows_of(conn, "SELECT id FROM grafana.organisations") == [(org,)]
    for site_org, guard in rows_of(
        conn, "SELECT organisation_id, camera_guard_organisation_id FROM grafana.sites"
    ):
        assert org in (site_org, guard)
    with owner(fleet) as admin:
        expected_incidents = {
            r[0]
            for r in admin.execute(
                "SELECT i.id FROM incidents i LEFT JOIN sites s ON s.id = i.site_id"
                " WHERE coalesce(s.organisation_id, i.organisation_id) = %s",
                (org,),
            ).fetchall()
        }
        expected_costs = {
            r[0]
            for r in admin.execute(
                "SELECT c.id FROM ticket_costs c JOIN tickets t ON t.id = c.ticket_id"
                " JOIN sites s ON s.id = t.site_id WHERE s.organisation_id = %s",
                (org,),
            ).fetchall()
        }
    assert {r[0] for r in rows_of(conn, "SELECT id FROM grafana.incidents")} == expected_incidents
    assert {r[0] for r in rows_of(conn, "SELECT id FROM grafana.ticket_costs")} == expected_costs
    for (site_id,) in rows_of(conn, "SELECT site_id FROM grafana.tickets"):
        assert site_id in {r[0] for r in rows_of(conn, "SELECT id FROM grafana.sites")}
    if code == "bdbp":  # guards cameras, runs nothing: no power, status, incidents, costs
        assert runs == set()
        assert guards
        assert rows_of(conn, "SELECT 1 FROM grafana.power_hourly") == []
        assert rows_of(conn, "SELECT 1 FROM grafana.board_status") == []
        assert rows_of(conn, "SELECT 1 FROM grafana.camera_hourly") != []


def test_the_province_reader_sees_everything(
    fleet: SeededFleet, connections: dict[str, Any]
) -> None:
    conn = connections["province"]
    with owner(fleet) as admin:
        for view in grafana_views(fleet):
            expected = admin.execute(
                sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(view))
            ).fetchone()
            got = rows_of(
                conn, sql.SQL("SELECT count(*) FROM grafana.{}").format(sql.Identifier(view))
            )
            assert got == [expected], view
            assert expected is not None
            assert expected[0] > 0, f"no seeded rows in {view}"


def test_availability_is_scoped_and_cannot_borrow_another_reader(
    fleet: SeededFleet, connections: dict[str, Any], roles: dict[str, str]
) -> None:
    start, end = fleet.now - timedelta(days=2), fleet.now
    org = organisation_id(fleet, "ubnd-phong-tho")
    query = "SELECT DISTINCT organisation_id FROM grafana.fleet_board_availability(%s, %s)"
    assert rows_of(connections["ubnd-phong-tho"], query, start, end) == [(org,)]
    assert len(rows_of(connections["province"], query, start, end)) > 2
    # naming the province's reader does not give its scope
    borrowed = rows_of(
        connections["ubnd-phong-tho"],
        "SELECT count(*) FROM grafana.fleet_board_availability(%s, %s, true, NULL, %s)",
        start,
        end,
        roles["province"],
    )
    assert borrowed == [(0,)]
    assert rows_of(connections["bdbp"], query, start, end) == []


# ------------------------------------------------------------------ every panel, every reader


@pytest.mark.parametrize("label", ["province", "bql-kkt", "ubnd-phong-tho", "bdbp"])
def test_every_panel_runs_as_each_reader(
    fleet: SeededFleet, connections: dict[str, Any], label: str
) -> None:
    """ "All" in both variables as the reader's options make it (Grafana's
    "None", an empty value, when it has none), every PostgreSQL panel."""
    conn = connections[label]
    runs = {
        b
        for b, (o, _) in board_organisations(fleet).items()
        if label == "province" or o == organisation_id(fleet, label)
    }
    for model in dashboards():
        grafana = Grafana(fleet.now - timedelta(days=2), fleet.now, timescaledb=timescaledb_flag())
        for name in ("organisation", "site"):
            grafana.variables[name] = options(conn, grafana, model, name) or [""]
        for panel in panels(model):
            if not is_postgres(panel["datasource"]):
                continue
            columns, rows = run(conn, grafana, panel)
            assert columns == EXPECTED[model["uid"], english(panel["title"])], panel["title"]
            if "board" in columns and model["uid"] != "fleet-border-cameras":
                shown = {row[columns.index("board")] for row in rows} - {None}
                assert shown <= runs, (label, panel["title"])


# --------------------------------------------------------------------------- the provisioning file


def test_the_datasources_file_names_every_organisation_and_no_password(
    fleet: SeededFleet, tmp_path: Path
) -> None:
    with owner(fleet) as conn:
        found = grafana_roles.readers(conn)
    path = tmp_path / "organisations.yml"
    grafana_roles.write_datasources(path, found)
    text = path.read_text(encoding="utf-8")
    assert "uid: fleet-postgres-bql-kkt" in text
    assert "user: grafana_org_bql_kkt" in text
    assert "password: ${FLEET_GRAFANA_DB_PASSWORD_GRAFANA_ORG_BQL_KKT}" in text
    assert "so-tttt" not in text  # runs no site: the province's reader serves it
    assert fleet.password not in text


def test_dashboard_sql_reads_schema_grafana_only() -> None:
    """Every table or function a PostgreSQL query or variable reads is
    grafana.* (or a name of the query's own WITH)."""
    from tests.dashboards.test_grafana_dashboards import variable_sql  # noqa: PLC0415

    texts = []
    for model in dashboards():
        texts += [variable_sql(v) for v in model["templating"]["list"] if v["type"] == "query"]
        texts += [
            t["rawSql"] for p in panels(model) if is_postgres(p["datasource"]) for t in p["targets"]
        ]
    assert texts
    for text in texts:
        own = set(re.findall(r"(\w+) AS \(", text))
        # FROM and JOIN, not extract(epoch FROM …); a LATERAL subquery is checked inside
        pattern = r"(?<!epoch )\b(?:FROM|JOIN)\s+(?:LATERAL\s+)?(?!LATERAL\b)([A-Za-z_][\w.]*)"
        for name in re.findall(pattern, text):
            assert name.startswith("grafana.") or name in own or name in ("generate_series",), (
                f"{name} in: {text[:80]}"
            )
        for name in re.findall(r"\b(fleet_\w+)\(", text):
            assert f"grafana.{name}(" in text, name
