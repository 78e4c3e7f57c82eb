"""Incidents reported by a person and the photos attached to incidents, in
PostgreSQL (Điều 9.3). The incident itself is opened by ``storage``."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from psycopg.rows import dict_row

from fleet_server.access.scope import Scope
from fleet_server.access.storage import sites_condition
from fleet_server.incidents.schemas import AttachmentOut, ReportOut
from fleet_server.incidents.storage import Conn

Place = tuple[str | None, int, int | None]


def board_place(conn: Conn, scope: Scope, board_id: str) -> Place | None:
    """(board, site, organisation) of a board ``scope`` sees, else None."""
    clause, params = sites_condition(scope, "b.site_id")
    row = conn.execute(
        "SELECT b.id, b.site_id, s.organisation_id FROM boards b"
        f" JOIN sites s ON s.id = b.site_id WHERE b.id = %s AND {clause}",
        [board_id, *params],
    ).fetchone()
    return None if row is None else (str(row[0]), int(row[1]), row[2])


def site_place(conn: Conn, scope: Scope, site_id: int) -> Place | None:
    """(None, site, organisation) of a site ``scope`` sees, else None."""
    clause, params = sites_condition(scope, "s.id")
    row = conn.execute(
        f"SELECT s.id, s.organisation_id FROM sites s WHERE s.id = %s AND {clause}",
        [site_id, *params],
    ).fetchone()
    return None if row is None else (None, int(row[0]), row[1])


def targets(conn: Conn, scope: Scope) -> list[tuple[int, str, str | None, str | None, str | None]]:
    """(site id, name, English name, board id, board name) of the sites and
    enabled boards ``scope`` sees, a site without boards once with None."""
    clause, params = sites_condition(scope, "s.id")
    rows = conn.execute(
        "SELECT s.id, s.name, s.name_en, b.id, b.name FROM sites s"
        " LEFT JOIN boards b ON b.site_id = s.id AND b.enabled"
        f" WHERE {clause} ORDER BY s.name, s.id, b.name, b.id",
        params,
    ).fetchall()
    return [(int(r[0]), str(r[1]), r[2], r[3], r[4]) for r in rows]


def reported_by_key(conn: Conn, reporter: str, client_key: str) -> int | None:
    """The incident an account's report with ``client_key`` opened."""
    row = conn.execute(
        "SELECT incident_id FROM incident_reports WHERE reporter = %s AND client_key = %s",
        (reporter, client_key),
    ).fetchone()
    return None if row is None else int(row[0])


def reported_by_fingerprint(conn: Conn, fingerprint: str, since: datetime) -> int | None:
    """The incident the same report opened since ``since``."""
    row = conn.execute(
        "SELECT incident_id FROM incident_reports WHERE fingerprint = %s AND reported_at >= %s"
        " ORDER BY reported_at DESC LIMIT 1",
        (fingerprint, since),
    ).fetchone()
    return None if row is None else int(row[0])


def record_report(
    conn: Conn,
    incident_id: int,
    *,
    reporter: str,
    reporter_user_id: int | None,
    reporter_name: str | None,
    address: str | None,
    category: str,
    description: str,
    observed_at: datetime | None,
    client_key: str | None,
    fingerprint: str,
    now: datetime,
) -> None:
    """Who reported the incident (UniqueViolation: the client key was used)."""
    conn.execute(
        "INSERT INTO incident_reports (incident_id, reporter, reporter_user_id, reporter_name,"
        " address, category, description, observed_at, client_key, fingerprint, reported_at)"
        " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
        (
            incident_id,
            reporter,
            reporter_user_id,
            reporter_name,
            address,
            category,
            description,
            observed_at,
            client_key,
            fingerprint,
            now,
        ),
    )
    conn.execute("UPDATE incidents SET reported_by = %s WHERE id = %s", (reporter, incident_id))


def report_of(conn: Conn, incident_id: int) -> ReportOut | None:
    with conn.cursor(row_factory=dict_row) as cur:
        row = cur.execute(
            "SELECT reporter, reporter_name, address, category, description, observed_at,"
            " reported_at FROM incident_reports WHERE incident_id = %s",
            (incident_id,),
        ).fetchone()
    return None if row is None else ReportOut(**row)


# -- photos -------------------------------------------------------------------------


def photo_count(conn: Conn, incident_id: int, *, lock: bool = False) -> int:
    """How many photos the incident holds; ``lock`` takes the incident's row
    lock first, so two uploads at once cannot both pass the limit."""
    if lock:
        conn.execute("SELECT id FROM incidents WHERE id = %s FOR UPDATE", (incident_id,))
    row = conn.execute(
        "SELECT count(*) FROM incident_attachments WHERE incident_id = %s", (incident_id,)
    ).fetchone()
    return int(row[0]) if row else 0


def add_photo(
    conn: Conn,
    incident_id: int,
    *,
    content_type: str,
    data: bytes,
    sha256: str,
    uploaded_by: str,
    now: datetime,
) -> int | None:
    """Store a photo; None when the incident holds the same photo already."""
    row = conn.execute(
        "INSERT INTO incident_attachments (incident_id, content_type, size_bytes, sha256, data,"
        " uploaded_by, uploaded_at) VALUES (%s, %s, %s, %s, %s, %s, %s)"
        " ON CONFLICT (incident_id, sha256) DO NOTHING RETURNING id",
        (incident_id, content_type, len(data), sha256, data, uploaded_by, now),
    ).fetchone()
    return None if row is None else int(row[0])


def photos_of(conn: Conn, incident_id: int) -> list[AttachmentOut]:
    with conn.cursor(row_factory=dict_row) as cur:
        rows = cur.execute(
            "SELECT id, content_type, size_bytes, sha256, uploaded_by, uploaded_at"
            " FROM incident_attachments WHERE incident_id = %s ORDER BY id",
            (incident_id,),
        ).fetchall()
    return [
        AttachmentOut(**r, url=f"/api/v1/incidents/{incident_id}/photos/{r['id']}") for r in rows
    ]


def photo(conn: Conn, incident_id: int, photo_id: int) -> tuple[str, bytes] | None:
    """(content type, bytes) of one photo of the incident."""
    row: Any = conn.execute(
        "SELECT content_type, data FROM incident_attachments WHERE incident_id = %s AND id = %s",
        (incident_id, photo_id),
    ).fetchone()
    return None if row is None else (str(row[0]), bytes(row[1]))
