"""Who a ticket may be given to, in PostgreSQL: the accounts offered, and
the scope of the account a ticket is given to."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from psycopg.rows import dict_row

from fleet_server.access.roles import is_province_wide
from fleet_server.access.scope import Scope
from fleet_server.tickets.schemas import Assignee
from fleet_server.tickets.storage import Conn

#: Who may be offered a ticket, besides the rule that the role may work
#: tickets at all (``ticket.work``): technicians whose scope includes the site
#: (their organisation's sites, sites given to them, their team's sites, the
#: whole province for the provincial department; the ticket's team first), and
#: operators of the site's organisation or given the site. Administrators may
#: be assigned through the API but are not offered. ``may_see_site`` is the
#: rule assigning enforces; this query offers no one it would refuse.
_ASSIGNEES = """
    WITH tk AS (
        SELECT t.team, t.site_id, s.organisation_id
        FROM tickets t JOIN sites s ON s.id = t.site_id WHERE t.id = %(ticket)s
    ), offered AS (
        SELECT u.username, u.full_name, u.role, u.team,
               CASE WHEN u.role = 'operator' THEN 'organisation'
                    WHEN u.team IS NOT NULL AND u.team = tk.team THEN 'team'
                    ELSE 'site' END AS reason
        FROM users u CROSS JOIN tk
        LEFT JOIN organisations o ON o.id = u.organisation_id
        WHERE u.active AND u.role = ANY(%(roles)s) AND (
            u.organisation_id = tk.organisation_id
            OR EXISTS (SELECT 1 FROM user_sites us
                       WHERE us.user_id = u.id AND us.site_id = tk.site_id)
            OR (u.role = 'technician' AND (
                EXISTS (SELECT 1 FROM site_teams st
                        WHERE st.site_id = tk.site_id AND st.team = u.team)
                OR coalesce(o.kind = 'provincial_department', false)))
        )
    )
    SELECT f.*, (SELECT count(*) FROM tickets x WHERE x.assignee = f.username
                   AND x.state NOT IN ('resolved', 'closed')) AS open_tickets
    FROM offered f
    ORDER BY CASE f.reason WHEN 'team' THEN 0 WHEN 'site' THEN 1 ELSE 2 END,
             f.full_name, f.username
"""


def offered(conn: Conn, ticket_id: int, roles: Sequence[str]) -> list[Assignee]:
    """Active accounts of ``roles`` that have to do with the ticket, the
    ticket's team first, then other technicians of the site, then operators."""
    with conn.cursor(row_factory=dict_row) as cur:
        rows = cur.execute(_ASSIGNEES, {"ticket": ticket_id, "roles": list(roles)}).fetchall()
    return [Assignee.model_validate(r) for r in rows]


def own_entry(conn: Conn, username: str, user_id: int) -> tuple[str, str | None, int] | None:
    """An active account's full name, team and unfinished tickets, or None."""
    row = conn.execute(
        "SELECT full_name, team, (SELECT count(*) FROM tickets x WHERE x.assignee = %s"
        " AND x.state NOT IN ('resolved', 'closed')) FROM users WHERE id = %s AND active",
        (username, user_id),
    ).fetchone()
    return None if row is None else (str(row[0]), row[1], int(row[2]))


def account_role(conn: Conn, username: str) -> tuple[str, bool] | None:
    """The account's role and whether it is active, or None when there is none."""
    row = conn.execute("SELECT role, active FROM users WHERE username = %s", (username,)).fetchone()
    return None if row is None else (str(row[0]), bool(row[1]))


def account_scope(conn: Conn, username: str) -> Scope | None:
    """The scope of an active account as if it signed in now
    (``Principal.scope``), or None."""
    row: Any = conn.execute(
        """SELECT u.id, u.role, u.organisation_id, u.team,
                  coalesce(o.kind = 'provincial_department', false),
                  coalesce((SELECT array_agg(site_id) FROM user_sites WHERE user_id = u.id),
                           '{}')
           FROM users u LEFT JOIN organisations o ON o.id = u.organisation_id
           WHERE u.username = %s AND u.active""",
        (username,),
    ).fetchone()
    if row is None:
        return None
    role = str(row[1])
    return Scope.of(
        role,
        username=username,
        organisation_id=row[2],
        team=row[3],
        site_ids=tuple(int(s) for s in row[5]),
        province_wide=is_province_wide(role, provincial_department=bool(row[4])),
    )
