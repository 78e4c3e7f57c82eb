"""What the API benchmark's clients request (``bench/api.py``): every API
list and page and every console page, grouped in scenarios, with ids picked
from the loaded data within the caller's scope (the admin: the province; the
operator: the Economic Zone Board's sites).

Each client of a scenario picks an endpoint at random (a route and one of
its variants: filters, sorts, deep pages; all equally often); a list that
answers with ``next_cursor`` (or a console page with a ``cursor=`` link) is
walked a few pages further.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

import psycopg

API = "/api/v1"
#: offsets stay within what lists accept without a cursor
MAX_OFFSET = 10_000
#: pages a client walks by ``next_cursor`` after the first
WALK_PAGES = 4


@dataclass(frozen=True)
class Endpoint:
    route: str  # the app's path template, e.g. /api/v1/boards/{board_id}
    variant: str
    make: Callable[[Any], str]  # a random.Random -> the URL path
    walk: bool = False  # follow next_cursor / cursor links

    @property
    def label(self) -> str:
        return self.route + (f" [{self.variant}]" if self.variant else "")


@dataclass
class Scenario:
    name: str
    role: str
    console: bool
    endpoints: list[Endpoint]


@dataclass
class Ids:
    """Ids of rows the caller may see (a sample of each kind)."""

    organisation_id: int | None = None
    organisations: list[int] = field(default_factory=list)
    boards: list[str] = field(default_factory=list)
    sites: list[int] = field(default_factory=list)
    cameras: list[tuple[str, str]] = field(default_factory=list)
    incidents: list[int] = field(default_factory=list)
    tickets: list[int] = field(default_factory=list)
    commands: list[str] = field(default_factory=list)
    bundles: list[tuple[str, int]] = field(default_factory=list)
    windows: list[int] = field(default_factory=list)
    schedules: list[int] = field(default_factory=list)
    overrides: list[int] = field(default_factory=list)
    users: list[int] = field(default_factory=list)
    contacts: list[int] = field(default_factory=list)
    routes: list[int] = field(default_factory=list)
    rollouts: list[int] = field(default_factory=list)
    content: list[int] = field(default_factory=list)
    submissions: list[int] = field(default_factory=list)
    suppliers: list[int] = field(default_factory=list)
    orders: list[int] = field(default_factory=list)
    #: rows in scope, for deep offsets
    totals: dict[str, int] = field(default_factory=dict)


def _column(conn: psycopg.Connection[Any], sql: str, *args: Any) -> list[Any]:
    return [r[0] if len(r) == 1 else tuple(r) for r in conn.execute(sql, args)]


def fleet_ids(url: str, organisation: str | None) -> Ids:
    """Ids in scope: every site (``organisation`` None) or that organisation's."""
    with psycopg.connect(url) as conn:
        org = None
        if organisation:
            row = conn.execute("SELECT id FROM organisations WHERE code = %s", (organisation,))
            org = (row.fetchone() or (None,))[0]
        # the scope as a condition on a site id column
        sites = "(SELECT id FROM sites WHERE %s::bigint IS NULL OR organisation_id = %s)"
        boards = f"(SELECT id FROM boards WHERE site_id IN {sites})"
        o = (org, org)
        ids = Ids(organisation_id=org)
        ids.organisations = _column(conn, "SELECT id FROM organisations ORDER BY id")
        ids.sites = _column(conn, f"SELECT id FROM sites WHERE id IN {sites} ORDER BY id", *o)
        ids.boards = _column(conn, f"SELECT id FROM boards WHERE site_id IN {sites}", *o)
        ids.cameras = _column(
            conn, f"SELECT board_id, camera_id FROM cameras WHERE board_id IN {boards}", *o
        )
        sample = "ORDER BY random() LIMIT 3000"
        ids.incidents = _column(
            conn, f"SELECT id FROM incidents WHERE site_id IN {sites} {sample}", *o
        )
        ids.tickets = _column(conn, f"SELECT id FROM tickets WHERE site_id IN {sites} {sample}", *o)
        ids.commands = _column(
            conn, f"SELECT request_id FROM board_commands WHERE board_id IN {boards} {sample}", *o
        )
        ids.bundles = _column(
            conn, f"SELECT device_id, id FROM log_bundles WHERE device_id IN {boards} {sample}", *o
        )
        ids.windows = _column(
            conn, f"SELECT id FROM maintenance_windows WHERE site_id IN {sites}", *o
        )
        ids.schedules = _column(
            conn, f"SELECT id FROM preventive_schedules WHERE site_id IN {sites} {sample}", *o
        )
        ids.overrides = _column(
            conn,
            f"SELECT id FROM rule_overrides WHERE site_id IN {sites} OR board_id IN {boards}"
            " OR %s::bigint IS NULL OR organisation_id = %s",
            *o,
            *o,
            *o,
        )
        mine = "%s::bigint IS NULL OR organisation_id = %s"
        ids.users = _column(conn, f"SELECT id FROM users WHERE {mine}", *o)
        ids.contacts = _column(conn, f"SELECT id FROM contacts WHERE {mine}", *o)
        ids.routes = _column(conn, f"SELECT id FROM notification_routes WHERE {mine}", *o)
        ids.suppliers = _column(conn, f"SELECT id FROM content_suppliers WHERE {mine}", *o)
        ids.submissions = _column(
            conn,
            "SELECT id FROM content_submissions WHERE supplier_id IN"
            f" (SELECT id FROM content_suppliers WHERE {mine})",
            *o,
        )
        ids.rollouts = _column(conn, "SELECT id FROM rollouts")
        ids.content = _column(conn, "SELECT id FROM content_items")
        ids.orders = _column(conn, "SELECT id FROM emergency_orders")
        for name, sql in (
            ("incidents", f"SELECT count(*) FROM incidents WHERE site_id IN {sites}"),
            ("tickets", f"SELECT count(*) FROM tickets WHERE site_id IN {sites}"),
            ("boards", f"SELECT count(*) FROM boards WHERE site_id IN {sites}"),
        ):
            count = conn.execute(sql, o).fetchone()
            ids.totals[name] = int(count[0]) if count else 0
        audit = conn.execute("SELECT count(*) FROM audit_log").fetchone()
        ids.totals["audit"] = int(audit[0]) if audit else 0
    return ids


def fixed(route: str, path: str, variant: str = "", walk: bool = False) -> Endpoint:
    return Endpoint(route, variant, lambda _rng: path, walk)


def choose(route: str, template: str, values: Sequence[Any], variant: str = "") -> Endpoint:
    """``template`` with ``{}`` replaced by a random one of ``values`` (a
    tuple fills several ``{}``)."""
    pool = list(values) or [0]  # no rows: a 404 the preflight reports

    def make(rng: Any) -> str:
        value = rng.choice(pool)
        return template.format(*value) if isinstance(value, tuple) else template.format(value)

    return Endpoint(route, variant, make)


def deep(route: str, path: str, total: int, variant: str = "offset ≤ 10,000") -> Endpoint:
    """A page at a random offset within the rows (at most ``MAX_OFFSET``)."""
    top = max(0, min(total, MAX_OFFSET) - 50)
    sep = "&" if "?" in path else "?"
    return Endpoint(route, variant, lambda rng: f"{path}{sep}offset={rng.randrange(0, top + 1)}")


def _iso(delta: timedelta) -> str:
    return quote((datetime.now(UTC) - delta).isoformat(timespec="seconds"))


def api_scenarios(role: str, ids: Ids) -> list[Scenario]:
    a = API
    boards, sites, t = ids.boards, ids.sites, ids.totals
    week, day = _iso(timedelta(days=7)), _iso(timedelta(days=1))
    today = datetime.now(UTC).date()
    month_ago = (today - timedelta(days=30)).isoformat()
    fleet = [
        fixed(f"{a}/auth/me", f"{a}/auth/me"),
        fixed(f"{a}/me/notification-preferences", f"{a}/me/notification-preferences"),
        fixed(f"{a}/organisations", f"{a}/organisations"),
        fixed(f"{a}/fleet/summary", f"{a}/fleet/summary"),
        fixed(f"{a}/sites/health", f"{a}/sites/health"),
        fixed(f"{a}/sites", f"{a}/sites?limit=50"),
        fixed(f"{a}/sites", f"{a}/sites?q=phong&limit=50", "q"),
        choose(f"{a}/sites/{{site_id}}", f"{a}/sites/{{}}", sites),
        fixed(f"{a}/boards", f"{a}/boards?limit=50", "first page, walk", walk=True),
        deep(f"{a}/boards", f"{a}/boards?limit=50&sort=-last_seen_at", t["boards"]),
        fixed(f"{a}/boards", f"{a}/boards?state=offline&sort=-state_since", "offline"),
        fixed(f"{a}/boards", f"{a}/boards?q=phong&limit=50", "q"),
        choose(f"{a}/boards", f"{a}/boards?site_id={{}}", sites, "site"),
    ]
    board = [
        choose(f"{a}/boards/{{board_id}}", f"{a}/boards/{{}}", boards),
        *[
            choose(
                f"{a}/boards/{{board_id}}/telemetry/{{kind}}",
                f"{a}/boards/{{}}/telemetry/{kind}",
                boards,
                kind,
            )
            for kind in ("heartbeat", "power", "network", "camera")
        ],
        choose(
            f"{a}/boards/{{board_id}}/connectivity",
            f"{a}/boards/{{}}/connectivity?since={week}&until={_iso(timedelta())}",
            boards,
        ),
        choose(f"{a}/boards/{{board_id}}/commands", f"{a}/boards/{{}}/commands", boards),
        choose(f"{a}/commands/{{request_id}}", f"{a}/commands/{{}}", ids.commands),
        choose(f"{a}/boards/{{board_id}}/config", f"{a}/boards/{{}}/config", boards),
        choose(f"{a}/boards/{{board_id}}/snapshots", f"{a}/boards/{{}}/snapshots", boards),
        choose(f"{a}/boards/{{board_id}}/logs", f"{a}/boards/{{}}/logs", boards),
        choose(f"{a}/boards/{{board_id}}/data-usage", f"{a}/boards/{{}}/data-usage", boards),
        choose(
            f"{a}/boards/{{board_id}}/broadcast-windows",
            f"{a}/boards/{{}}/broadcast-windows",
            boards,
        ),
        choose(
            f"{a}/sites/{{site_id}}/broadcast-windows", f"{a}/sites/{{}}/broadcast-windows", sites
        ),
        choose(f"{a}/boards/{{board_id}}/plays", f"{a}/boards/{{}}/plays?since={day}", boards),
        fixed(f"{a}/cameras", f"{a}/cameras?limit=50"),
        fixed(f"{a}/cameras", f"{a}/cameras?health=failing", "failing"),
        choose(
            f"{a}/cameras/{{board_id}}/{{camera_id}}/series",
            f"{a}/cameras/{{}}/{{}}/series",
            ids.cameras,
        ),
    ]
    work = [
        fixed(f"{a}/incidents", f"{a}/incidents?state=open", "open, walk", walk=True),
        fixed(
            f"{a}/incidents",
            f"{a}/incidents?state=open&state=acknowledged&sort=-opened_at",
            "open+ack",
        ),
        fixed(f"{a}/incidents", f"{a}/incidents?severity=critical&since={week}", "critical 7 d"),
        fixed(f"{a}/incidents", f"{a}/incidents?sort=-opened_at", "history, walk", walk=True),
        deep(f"{a}/incidents", f"{a}/incidents?sort=-opened_at", t["incidents"]),
        choose(f"{a}/incidents", f"{a}/incidents?site_id={{}}", sites, "site"),
        choose(f"{a}/incidents/{{incident_id}}", f"{a}/incidents/{{}}", ids.incidents),
        fixed(f"{a}/tickets", f"{a}/tickets", "first page, walk", walk=True),
        fixed(f"{a}/tickets", f"{a}/tickets?state=open&state=assigned", "open"),
        fixed(f"{a}/tickets", f"{a}/tickets?overdue=true", "overdue"),
        deep(f"{a}/tickets", f"{a}/tickets", t["tickets"]),
        choose(f"{a}/tickets/{{ticket_id}}", f"{a}/tickets/{{}}", ids.tickets),
        choose(f"{a}/tickets/{{ticket_id}}/assignees", f"{a}/tickets/{{}}/assignees", ids.tickets),
        choose(f"{a}/tickets/{{ticket_id}}/costs", f"{a}/tickets/{{}}/costs", ids.tickets),
        fixed(f"{a}/maintenance-windows", f"{a}/maintenance-windows"),
        fixed(f"{a}/maintenance-windows", f"{a}/maintenance-windows?current=true", "current"),
        choose(
            f"{a}/maintenance-windows/{{window_id}}", f"{a}/maintenance-windows/{{}}", ids.windows
        ),
        fixed(f"{a}/preventive-schedules", f"{a}/preventive-schedules"),
        choose(
            f"{a}/preventive-schedules/{{schedule_id}}",
            f"{a}/preventive-schedules/{{}}",
            ids.schedules,
        ),
    ]
    admin = [
        fixed(f"{a}/audit-log", f"{a}/audit-log", "first page, walk", walk=True),
        deep(f"{a}/audit-log", f"{a}/audit-log", t["audit"]),
        fixed(f"{a}/audit-log", f"{a}/audit-log?action=login_failed", "login_failed"),
        fixed(f"{a}/users", f"{a}/users"),
        choose(f"{a}/users/{{user_id}}", f"{a}/users/{{}}", ids.users),
        fixed(f"{a}/contacts", f"{a}/contacts"),
        choose(f"{a}/contacts/{{contact_id}}", f"{a}/contacts/{{}}", ids.contacts),
        fixed(f"{a}/notification-routes", f"{a}/notification-routes"),
        choose(
            f"{a}/notification-routes/{{route_id}}", f"{a}/notification-routes/{{}}", ids.routes
        ),
        fixed(f"{a}/rules", f"{a}/rules"),
        fixed(f"{a}/rule-overrides", f"{a}/rule-overrides"),
        choose(f"{a}/rule-overrides/{{override_id}}", f"{a}/rule-overrides/{{}}", ids.overrides),
        fixed(f"{a}/releases", f"{a}/releases"),
        fixed(f"{a}/rollouts", f"{a}/rollouts"),
        choose(f"{a}/rollouts/{{rollout_id}}", f"{a}/rollouts/{{}}", ids.rollouts),
        choose(f"{a}/rollouts/{{rollout_id}}/boards", f"{a}/rollouts/{{}}/boards", ids.rollouts),
        choose(
            f"{a}/rollouts/{{rollout_id}}/boards",
            f"{a}/rollouts/{{}}/boards?sort=problems&state=failed&state=pending",
            ids.rollouts,
            "problems",
        ),
        fixed(f"{a}/data-usage", f"{a}/data-usage"),
        choose(f"{a}/data-usage", f"{a}/data-usage?site_id={{}}", sites, "site"),
        *[
            fixed(
                f"{a}/availability", f"{a}/availability?level={level}", f"{level}, walk", walk=True
            )
            for level in ("board", "site", "organisation")
        ],
        fixed(f"{a}/compliance/days", f"{a}/compliance/days?from={month_ago}"),
        choose(f"{a}/compliance/days", f"{a}/compliance/days?site_id={{}}", sites, "site"),
        fixed(f"{a}/reports/budget", f"{a}/reports/budget?year={today.year}"),
        fixed(f"{a}/emergency-orders", f"{a}/emergency-orders"),
        choose(f"{a}/emergency-orders/{{order_id}}", f"{a}/emergency-orders/{{}}", ids.orders),
        fixed(f"{a}/content", f"{a}/content"),
        choose(f"{a}/content/{{content_id}}", f"{a}/content/{{}}", ids.content),
        fixed(f"{a}/content/submissions", f"{a}/content/submissions"),
        choose(
            f"{a}/content/submissions/{{submission_id}}",
            f"{a}/content/submissions/{{}}",
            ids.submissions,
        ),
        fixed(f"{a}/content/suppliers", f"{a}/content/suppliers"),
        choose(
            f"{a}/content/suppliers/{{supplier_id}}", f"{a}/content/suppliers/{{}}", ids.suppliers
        ),
        fixed(f"{a}/content/overdue", f"{a}/content/overdue"),
    ]
    return [
        Scenario("api: fleet, sites, boards", role, False, fleet),
        Scenario("api: board pages", role, False, board),
        Scenario("api: incidents, tickets, work", role, False, work),
        Scenario("api: admin, reports, content", role, False, admin),
    ]


#: what people type into the place pickers (accents left out, as on a phone),
#: encoded for the query string
PLACE_WORDS = [
    quote(w) for w in ("phong", "muong te", "sin ho", "tam duong", "than uyen", "lai chau")
]


def console_scenarios(role: str, ids: Ids) -> list[Scenario]:
    boards, sites = ids.boards, ids.sites
    overview = [
        fixed("/", "/"),
        fixed("/live/overview", "/live/overview"),
        choose("/sites/{site_id}", "/sites/{}", sites),
        choose("/boards/{board_id}", "/boards/{}", boards),
        choose("/live/boards/{board_id}", "/live/boards/{}", boards),
        fixed("/cameras", "/cameras"),
        fixed("/live/cameras", "/live/cameras"),
        fixed("/data-usage", "/data-usage"),
        fixed("/admin/boards", "/admin/boards", "first page, walk", walk=True),
        choose("/admin/boards/{board_id}", "/admin/boards/{}", boards),
    ]
    work = [
        fixed("/incidents", "/incidents", "first page, walk", walk=True),
        # the console pages by cursor only (an offset is ignored): deep is walked
        fixed("/incidents", "/incidents?state=all", "all states, walk", walk=True),
        choose("/incidents", "/incidents?board_id={}", boards, "board"),
        choose("/incidents/{incident_id}", "/incidents/{}", ids.incidents),
        fixed("/live/incidents", "/live/incidents"),
        choose("/live/incidents/{incident_id}", "/live/incidents/{}", ids.incidents),
        choose("/incidents/report", "/incidents/report?board={}", boards),
        fixed("/tickets", "/tickets", "first page, walk", walk=True),
        choose("/tickets", "/tickets?show=all&board_id={}", boards, "board"),
        choose("/tickets/{ticket_id}", "/tickets/{}", ids.tickets),
        choose("/tickets/new", "/tickets/new?board_id={}", boards),
        fixed("/maintenance", "/maintenance"),
        fixed("/maintenance/preventive", "/maintenance/preventive"),
        fixed("/notices", "/notices"),
        choose("/search/places", "/search/places?kind=site&q={}", PLACE_WORDS, "sites"),
        choose("/search/places", "/search/places?kind=board&q={}", PLACE_WORDS, "boards"),
    ]
    admin = [
        fixed("/audit", "/audit", "first page, walk", walk=True),
        fixed("/rules", "/rules"),
        fixed("/reports", "/reports"),
        fixed("/reports/budget", "/reports/budget"),
        fixed("/content", "/content"),
        fixed("/content/submissions", "/content/submissions"),
        choose("/content/submissions/{submission_id}", "/content/submissions/{}", ids.submissions),
        fixed("/content/suppliers", "/content/suppliers"),
        fixed("/releases", "/releases"),
        choose("/rollouts/{rollout_id}", "/rollouts/{}", ids.rollouts),
        fixed("/admin/contacts", "/admin/contacts"),
        choose("/admin/contacts/{contact_id}", "/admin/contacts/{}", ids.contacts),
        fixed("/admin/routes", "/admin/routes"),
        choose("/admin/routes/{route_id}", "/admin/routes/{}", ids.routes),
        fixed("/admin/users", "/admin/users"),
        choose("/admin/users/{user_id}", "/admin/users/{}", ids.users),
        fixed("/account/notifications", "/account/notifications"),
        fixed("/login", "/login"),
        choose("/boards/{board_id}/logs/{bundle_id}", "/boards/{}/logs/{}", ids.bundles),
    ]
    return [
        Scenario("console: overview, boards", role, True, overview),
        Scenario("console: incidents, tickets", role, True, work),
        Scenario("console: admin, reports", role, True, admin),
    ]


def scenarios(ids: dict[str, Ids], console: bool) -> list[Scenario]:
    out: list[Scenario] = []
    for role, role_ids in ids.items():
        out += api_scenarios(role, role_ids)
        if console:
            out += console_scenarios(role, role_ids)
    return out


def covered_routes(all_scenarios: Sequence[Scenario]) -> set[str]:
    return {e.route for s in all_scenarios for e in s.endpoints}
