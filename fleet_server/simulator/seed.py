"""The simulated fleet's inventory: which boards stand where, and writing it
into the database (organisations, sites, boards, cameras, windows).

Idempotent: a second run updates names and keeps what exists.
"""

from __future__ import annotations

from collections.abc import Iterable

import psycopg

from edge_agent.simulation import SimulatedContent
from fleet_server.simulator.boards import BoardSpec
from fleet_server.simulator.places import DEFAULT_WINDOWS, ORGANISATIONS, PLACES, Place


def fleet_specs(count: int) -> list[tuple[Place, BoardSpec]]:
    """``count`` boards spread over the province's sites, border gates first;
    border boards get two cameras, the others one."""
    boards: list[tuple[Place, BoardSpec]] = []
    per_site = [0] * len(PLACES)
    for i in range(count):
        index = i % len(PLACES)
        place = PLACES[index]
        per_site[index] += 1
        device_id = f"lc-{place.code}-{per_site[index]:02d}"
        cameras = ["cam1", "cam2"] if place.is_border else ["cam1"]
        boards.append((place, BoardSpec(device_id, place.code, cameras)))
    return boards


def seed(
    conn: psycopg.Connection[tuple[object, ...]], boards: Iterable[tuple[Place, BoardSpec]]
) -> int:
    """Write the inventory; return the number of boards."""
    boards = list(boards)
    with conn.transaction(), conn.cursor() as cur:
        cur.executemany(
            """INSERT INTO organisations (code, name, name_en, kind) VALUES (%s, %s, %s, %s)
               ON CONFLICT (code) DO UPDATE SET name = EXCLUDED.name, name_en = EXCLUDED.name_en""",
            [(o.code, o.name, o.name_en, o.kind) for o in ORGANISATIONS],
        )
        used = {place.code: place for place, _ in boards}
        cur.executemany(
            """INSERT INTO sites (code, organisation_id, name, name_en, kind, district,
                                  latitude, longitude, camera_guard_organisation_id)
               SELECT %s, o.id, %s, %s, %s, %s, %s, %s,
                      CASE WHEN %s THEN (SELECT id FROM organisations WHERE code = 'bdbp') END
                 FROM organisations o WHERE o.code = %s
               ON CONFLICT (code) DO UPDATE SET name = EXCLUDED.name,
                    name_en = EXCLUDED.name_en, latitude = EXCLUDED.latitude,
                    longitude = EXCLUDED.longitude""",
            [
                (
                    p.code,
                    p.name,
                    p.name_en,
                    p.kind,
                    p.district,
                    p.latitude,
                    p.longitude,
                    p.is_border,
                    p.organisation,
                )
                for p in used.values()
            ],
        )
        cur.executemany(
            """INSERT INTO broadcast_windows (site_id, part, starts_at, ends_at)
               SELECT s.id, %s, %s, %s FROM sites s WHERE s.code = %s
               ON CONFLICT (site_id, board_id, part) DO NOTHING""",
            [(part, start, end, code) for code in used for part, start, end in DEFAULT_WINDOWS],
        )
        cur.executemany(
            """INSERT INTO boards (id, site_id, name, model, installed_on, heartbeat_interval_s)
               SELECT %s, s.id, %s, 'LED P5 ngoài trời', DATE '2025-06-01', 30
                 FROM sites s WHERE s.code = %s
               ON CONFLICT (id) DO NOTHING""",
            [(b.device_id, f"Bảng tin {p.name} số {b.device_id[-2:]}", p.code) for p, b in boards],
        )
        cur.executemany(
            """INSERT INTO cameras (board_id, camera_id, name) VALUES (%s, %s, %s)
               ON CONFLICT (board_id, camera_id) DO NOTHING""",
            [
                (b.device_id, cam, f"Camera {cam[-1]} — {p.name}")
                for p, b in boards
                for cam in b.cameras
            ],
        )
        approved = SimulatedContent()  # what every simulated board plays by default
        cur.execute(
            """INSERT INTO content_items (title, kind, language, sha256, valid_from,
                                         from_department, approved_by)
               VALUES (%s, %s, %s, %s, now() - interval '30 days', true, 'so-tttt')
               ON CONFLICT (sha256) DO NOTHING""",
            ("Tuyên truyền tháng 11/2026", approved.kind, approved.language, approved.sha256),
        )
    return len(boards)


#: The demo's duty contacts (example.invalid: nothing is really sent).
DEMO_CONTACTS = (
    # name, organisation, e-mail, class, kinds, min severity
    (
        "Tổ kỹ thuật Ban QL Khu kinh tế",
        "bql-kkt",
        "ky-thuat@bql-kkt.example.invalid",
        "technical",
        None,
        "minor",
    ),
    (
        "Trực ban Bộ đội Biên phòng",
        "bdbp",
        "truc-ban@bdbp.example.invalid",
        "technical",
        ["camera*"],
        "warning",
    ),
    (
        "Phòng Bưu chính – Viễn thông, Sở TT&TT",
        "so-tttt",
        "bcvt@stttt.example.invalid",
        "security",
        None,
        "warning",
    ),
    (
        "Phòng Thông tin – Báo chí – Xuất bản, Sở TT&TT",
        "so-tttt",
        "ttbc@stttt.example.invalid",
        "compliance",
        None,
        "minor",
    ),
)


def seed_contacts(conn: psycopg.Connection[tuple[object, ...]]) -> None:
    """Demo routes in the spirit of the regulation: power/uplink to the
    Economic Zone Board, cameras to the Border Guard, security and broadcast
    compliance (Điều 8) to Sở TT&TT."""
    with conn.transaction():
        if conn.execute("SELECT 1 FROM contacts LIMIT 1").fetchone():
            return
        for name, org, email, klass, kinds, severity in DEMO_CONTACTS:
            row = conn.execute(
                "INSERT INTO contacts (organisation_id, kind, name, email)"
                " SELECT id, 'duty_desk', %s, %s FROM organisations WHERE code = %s"
                " RETURNING id",
                (name, email, org),
            ).fetchone()
            if row is None:
                continue
            conn.execute(
                "INSERT INTO notification_routes (incident_class, incident_kinds,"
                " min_severity, channel, contact_id) VALUES (%s, %s, %s, 'email', %s)",
                (klass, kinds, severity, row[0]),
            )
