"""The one way the tests put organisations, sites, boards and users into a
database: small functions with a default for every NOT NULL column, each
returning the new row's id.

Where a row names another, pass its id or its code (an organisation's or a
site's code, a user's username): ``site(conn, "ma-lu-thang", "bql-kkt")``.
Defaults are the schema's own (an organisation of kind ``other``, a site of
kind ``district_centre``, an enabled board beating every 30 s, an active user
who speaks Vietnamese), so a row seeded here is the row a bare INSERT made.

``demo_fleet`` writes the simulator's province instead (its organisations,
sites, boards, cameras and broadcast windows), as the demo seeds it.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from typing import Any

import psycopg

from fleet_server.simulator.seed import fleet_specs, seed

Conn = psycopg.Connection[Any]
#: Not an argon2 hash: nobody logs in with it (tests that log in pass their own).
NO_PASSWORD = "x"


def demo_fleet(conn: Conn, boards: int) -> int:
    """The simulator's first ``boards`` boards, their sites and all of its
    organisations (``demo_fleet(conn, 14)``: 14 boards on 12 sites)."""
    return seed(conn, fleet_specs(boards))


def _id(row: tuple[Any, ...] | None, what: str) -> int:
    if row is None:
        raise LookupError(f"no {what}")
    return int(row[0])


def organisation_id(conn: Conn, organisation: int | str) -> int:
    """An organisation's id, from its id or its code."""
    if isinstance(organisation, int):
        return organisation
    row = conn.execute("SELECT id FROM organisations WHERE code = %s", (organisation,))
    return _id(row.fetchone(), f"organisation {organisation!r}")


def site_id(conn: Conn, site: int | str) -> int:
    """A site's id, from its id or its code."""
    if isinstance(site, int):
        return site
    return _id(
        conn.execute("SELECT id FROM sites WHERE code = %s", (site,)).fetchone(),
        f"site {site!r}",
    )


def site_of_board(conn: Conn, board_id: str) -> int:
    """The id of the site a board stands at."""
    return _id(
        conn.execute("SELECT site_id FROM boards WHERE id = %s", (board_id,)).fetchone(),
        f"board {board_id!r}",
    )


def sites_of_kind(conn: Conn, kind: str) -> list[int]:
    """Ids of the sites of one kind (``border_gate``, ``district_centre``…), in id order."""
    rows = conn.execute("SELECT id FROM sites WHERE kind = %s ORDER BY id", (kind,))
    return [int(r[0]) for r in rows]


def user_id(conn: Conn, user: int | str) -> int:
    """A user's id, from the id or the username."""
    if isinstance(user, int):
        return user
    return _id(
        conn.execute("SELECT id FROM users WHERE username = %s", (user,)).fetchone(),
        f"user {user!r}",
    )


def organisation(
    conn: Conn,
    code: str = "org-a",
    name: str | None = None,
    *,
    kind: str = "other",
    name_en: str | None = None,
) -> int:
    """A new organisation (name: "Đơn vị <code>" unless given); its id."""
    row = conn.execute(
        "INSERT INTO organisations (code, name, name_en, kind) VALUES (%s, %s, %s, %s)"
        " RETURNING id",
        (code, name or f"Đơn vị {code}", name_en, kind),
    ).fetchone()
    return _id(row, "organisation inserted")


def site(
    conn: Conn,
    code: str = "site-1",
    organisation: int | str = "org-a",
    *,
    name: str | None = None,
    kind: str = "district_centre",
    name_en: str | None = None,
    district: str | None = None,
    latitude: float | None = None,
    longitude: float | None = None,
    camera_guard: int | str | None = None,
) -> int:
    """A new site of an existing organisation (name: "Điểm <code>" unless
    given); ``camera_guard``: the organisation guarding its cameras. Its id."""
    guard = None if camera_guard is None else organisation_id(conn, camera_guard)
    row = conn.execute(
        "INSERT INTO sites (code, organisation_id, name, name_en, kind, district, latitude,"
        " longitude, camera_guard_organisation_id) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)"
        " RETURNING id",
        (
            code,
            organisation_id(conn, organisation),
            name or f"Điểm {code}",
            name_en,
            kind,
            district,
            latitude,
            longitude,
            guard,
        ),
    ).fetchone()
    return _id(row, "site inserted")


def board(
    conn: Conn,
    board_id: str,
    site: int | str = "site-1",
    *,
    name: str | None = None,
    enabled: bool = True,
    installed_on: date | None = None,
    model: str | None = None,
    heartbeat_interval_s: int = 30,
    created_at: datetime | None = None,
) -> str:
    """A new board at an existing site (name: "Bảng <id>" unless given;
    created now unless ``created_at``); its id."""
    conn.execute(
        "INSERT INTO boards (id, site_id, name, model, installed_on, heartbeat_interval_s,"
        " enabled, created_at) VALUES (%s, %s, %s, %s, %s, %s, %s, coalesce(%s, now()))",
        (
            board_id,
            site_id(conn, site),
            name or f"Bảng {board_id}",
            model,
            installed_on,
            heartbeat_interval_s,
            enabled,
            created_at,
        ),
    )
    return board_id


def user(
    conn: Conn,
    username: str,
    role: str,
    *,
    organisation: int | str | None = None,
    team: str | None = None,
    sites: Iterable[int | str] = (),
    full_name: str | None = None,
    active: bool = True,
    password_hash: str = NO_PASSWORD,
    email: str | None = None,
    language: str = "vi",
) -> int:
    """A new account (full name: "Người dùng <username>" unless given), given
    ``sites`` beyond its organisation's; its id."""
    org = None if organisation is None else organisation_id(conn, organisation)
    row = conn.execute(
        "INSERT INTO users (username, full_name, email, role, organisation_id, team, active,"
        " password_hash, language) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s) RETURNING id",
        (
            username,
            full_name or f"Người dùng {username}",
            email,
            role,
            org,
            team,
            active,
            password_hash,
            language,
        ),
    ).fetchone()
    new = _id(row, "user inserted")
    for given in sites:
        user_site(conn, new, given)
    return new


def user_site(conn: Conn, user: int | str, site: int | str) -> None:
    """Give an account a site beyond its organisation's."""
    conn.execute(
        "INSERT INTO user_sites (user_id, site_id) VALUES (%s, %s)",
        (user_id(conn, user), site_id(conn, site)),
    )


def site_team(conn: Conn, site: int | str, team: str) -> None:
    """The maintenance team that works a site's tickets."""
    conn.execute(
        "INSERT INTO site_teams (site_id, team) VALUES (%s, %s)", (site_id(conn, site), team)
    )


def content_item(
    conn: Conn,
    sha256: str,
    kind: str = "propaganda",
    *,
    title: str | None = None,
    language: str = "vi",
    valid_from: datetime | None = None,
    valid_to: datetime | None = None,
    approved_by: str = "so-tttt",
) -> int:
    """An approved registry item (valid from 2020 unless given); its id."""
    row = conn.execute(
        "INSERT INTO content_items (title, kind, language, sha256, valid_from, valid_to,"
        " approved_by) VALUES (%s, %s, %s, %s,"
        " coalesce(%s::timestamptz, '2020-01-01T00:00:00Z'), %s, %s)"
        " RETURNING id",
        (
            title or f"{kind} {sha256[:8]}",
            kind,
            language,
            sha256,
            valid_from,
            valid_to,
            approved_by,
        ),
    ).fetchone()
    return _id(row, "content item")


def own_contact(
    conn: Conn, username: str, email: str, *, language: str = "vi", name: str | None = None
) -> int:
    """The contact that belongs to an account (``contacts.user_id``): what a
    person is told at, e.g. when a ticket is given to them; its id."""
    row = conn.execute(
        "INSERT INTO contacts (user_id, organisation_id, kind, name, email, language)"
        " SELECT id, organisation_id, 'person', %s, %s, %s FROM users WHERE username = %s"
        " RETURNING id",
        (name or f"Liên hệ {username}", email, language, username),
    ).fetchone()
    return _id(row, f"contact of {username!r}")
