"""What a notice about an incident says of its place and readings, read from
PostgreSQL: the site's and board's names, the incident's details, and the
boards' last contact and newest power and network readings."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from psycopg.rows import dict_row

from fleet_server.incidents.storage import Conn


@dataclass(frozen=True, slots=True)
class BoardReadings:
    board_id: str
    last_seen_at: datetime | None = None
    power: dict[str, Any] = field(default_factory=dict)
    power_at: datetime | None = None
    network: dict[str, Any] = field(default_factory=dict)
    network_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class NoticePlace:
    site_name: str | None
    site_name_en: str | None
    board_name: str | None
    details: dict[str, Any]
    readings: list[BoardReadings]


def place_of(conn: Conn, incident_id: int) -> NoticePlace | None:
    """The incident's place, details and readings (a site incident: of the
    boards it names, else every board of the site); None when it is gone."""
    with conn.cursor(row_factory=dict_row) as cur:
        row = cur.execute(
            """SELECT i.details, i.site_id, i.board_id, s.name AS site_name,
                      s.name_en AS site_name_en, b.name AS board_name
               FROM incidents i
               LEFT JOIN sites s ON s.id = i.site_id
               LEFT JOIN boards b ON b.id = i.board_id
               WHERE i.id = %s""",
            (incident_id,),
        ).fetchone()
        if row is None:
            return None
        details = row["details"] if isinstance(row["details"], dict) else {}
        boards = [row["board_id"]] if row["board_id"] else _named_boards(details)
        readings = cur.execute(
            """SELECT b.id AS board_id, st.last_seen_at,
                      p.data AS power, p.received_at AS power_at,
                      n.data AS network, n.received_at AS network_at
               FROM boards b
               LEFT JOIN board_status st ON st.board_id = b.id
               LEFT JOIN board_latest p ON p.device_id = b.id AND p.kind = 'power'
               LEFT JOIN board_latest n ON n.device_id = b.id AND n.kind = 'network'
               WHERE (b.id = ANY(%s) OR (%s::bigint IS NOT NULL AND cardinality(%s::text[]) = 0
                                          AND b.site_id = %s))
               ORDER BY b.id""",
            (boards, row["site_id"], boards, row["site_id"]),
        ).fetchall()
    return NoticePlace(
        site_name=row["site_name"],
        site_name_en=row["site_name_en"],
        board_name=row["board_name"],
        details=details,
        readings=[
            BoardReadings(
                board_id=r["board_id"],
                last_seen_at=r["last_seen_at"],
                power=r["power"] if isinstance(r["power"], dict) else {},
                power_at=r["power_at"],
                network=r["network"] if isinstance(r["network"], dict) else {},
                network_at=r["network_at"],
            )
            for r in readings
        ],
    )


def _named_boards(details: dict[str, Any]) -> list[str]:
    boards = details.get("boards")
    return [str(b) for b in boards] if isinstance(boards, list) else []
