"""The board page (``/boards/{id}``): state (and, when it is offline, the
likely cause), latest readings, the newest screen and camera pictures
(``pictures``), 24-hour charts (sent as data, drawn in the browser:
``board_charts``), its worst and newest open incidents (at most
``SHOWN_INCIDENTS``, then a link to all of them on the incident queue),
its unfinished tickets due soonest (at most ``SHOWN_TICKETS``), connectivity
history, remote commands (the buttons for roles that may send them, the
recent commands with their states) and desired against reported
configuration."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Path, Request
from fastapi.responses import Response

from fleet_protocol.topics import DEVICE_ID_PATTERN
from fleet_server.access.pagination import CursorPage, ListParams, capped
from fleet_server.access.principal import Principal
from fleet_server.api.console import data_usage_page, forms, i18n, log_bundles, pictures
from fleet_server.api.console.board_charts import board_charts, script_json
from fleet_server.api.console.forms import Longest
from fleet_server.api.console.releases_page import agent_section
from fleet_server.api.console.svg import Band, state_strip
from fleet_server.api.console.tickets import UNFINISHED
from fleet_server.api.console.web import form_for, language_of, page_for, redirect, render
from fleet_server.api.console.windows import board_windows_section
from fleet_server.api.deps import Conn, Ctx, Db, Now, client_address
from fleet_server.availability.service import board_last_30_days
from fleet_server.boards.schemas import BoardDetail, Latest
from fleet_server.boards.service import checked_board, connectivity, get_board
from fleet_server.commands.schemas import CommandIn
from fleet_server.commands.service import board_config, recent_commands, send_command
from fleet_server.errors import Invalid, RequestError
from fleet_server.tickets.models import TicketFilter
from fleet_server.tickets.schemas import TicketOut
from fleet_server.tickets.service import list_tickets

router = APIRouter(include_in_schema=False)

BoardReader = Annotated[Principal, Depends(page_for("board.read"))]
CommandSender = Annotated[Principal, Depends(form_for("command.send"))]
BoardId = Annotated[str, Path(max_length=64, pattern=DEVICE_ID_PATTERN)]
DAY = timedelta(hours=24)
#: State changes the page lists (the board's newest).
HISTORY = 50
#: Commands on the page (the API lists them all).
RECENT_COMMANDS = 10
#: Open incidents the page lists, worst and newest first (a board may hold
#: hundreds: 100 of them were a 245 KB page, most of its rendering time); the
#: link under them opens the incident queue filtered by the board.
SHOWN_INCIDENTS = 10
#: Unfinished tickets the page lists, due soonest first (the ticket queue has
#: no board filter to link to: the section says how many there are).
SHOWN_TICKETS = 10
#: The buttons of the page; set_config is for the API (JSON).
CONSOLE_COMMANDS = ("ping", "collect_now", "restart_player", "reboot")
#: Badge colour of each command state (console.css classes).
COMMAND_BADGES = {
    "queued": "ts-open",
    "sent": "ts-open",
    "delivered": "ts-in_progress",
    "succeeded": "st-online",
    "failed": "st-lost",
    "rejected": "st-lost",
    "expired": "st-stale",
}


#: Latest readings shown per kind: (path in the message, label key, format).
READINGS: dict[str, tuple[tuple[str, str, str], ...]] = {
    "power": (
        ("mains_present", "reading.mains_present", "bool"),
        ("on_battery", "reading.on_battery", "bool"),
        ("battery_percent", "reading.battery_percent", "%"),
        ("runtime_s", "reading.runtime", "minutes"),
        ("input_voltage_v", "reading.input_voltage", "V"),
    ),
    "network": (
        ("link_up", "reading.link_up", "bool"),
        ("rtt_ms", "reading.rtt", "ms"),
        ("loss_percent", "reading.loss", "%"),
        ("lte.operator", "reading.lte_operator", "text"),
        ("lte.signal_percent", "reading.lte_signal", "%"),
        ("lte.rsrp_dbm", "reading.lte_rsrp", "dBm"),
    ),
    "display": (
        ("screen_on", "reading.screen_on", "bool"),
        ("player_running", "reading.player_running", "bool"),
        ("content_kind", "reading.content_kind", "content"),
        ("content_id", "reading.content_id", "text"),
    ),
    "heartbeat": (
        ("uptime_s", "reading.uptime", "hours"),
        ("cpu_percent", "reading.cpu", "%"),
        ("memory_percent", "reading.memory", "%"),
        ("disk_percent", "reading.disk", "%"),
        ("temperature_c", "reading.temperature", "°C"),
        ("agent_version", "reading.agent_version", "text"),
        ("spool_pending", "reading.spool_pending", "int"),
    ),
}


def _lookup(data: dict[str, Any], path: str) -> Any:
    value: Any = data
    for part in path.split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value


def _show(value: Any, fmt: str, t: i18n.Translate, lang: str) -> str | None:
    """One reading as text in ``lang``; ``fmt`` is a unit or a kind of value."""
    if value is None:
        return None
    if fmt == "bool":
        return t("common.yes") if value else t("common.no")
    if fmt == "content" and i18n.known(f"content_kind.{value}"):
        return t(f"content_kind.{value}")
    if fmt in ("text", "content") or not isinstance(value, int | float) or isinstance(value, bool):
        return str(value)
    scaled: dict[str, tuple[float, int, str]] = {
        "minutes": (60, 0, " " + t("unit.minutes")),
        "hours": (3600, 1, " " + t("unit.hours")),
        "int": (1, 0, ""),
    }
    divisor, digits, suffix = scaled.get(
        fmt, (1, 0 if abs(value) >= 100 or float(value).is_integer() else 1, " " + fmt)
    )
    return i18n.format_number(value / divisor, lang, digits) + suffix


def readings(latest: dict[str, Latest], t: i18n.Translate, lang: str) -> list[dict[str, Any]]:
    """Groups of (label, value) from the latest message of each kind."""
    groups = []
    for kind, fields in READINGS.items():
        if kind not in latest:
            continue
        rows = []
        for path, label, fmt in fields:
            shown = _show(_lookup(latest[kind].data, path), fmt, t, lang)
            if shown is not None:
                rows.append((t(label), shown))
        groups.append({"kind": kind, "measured_at": latest[kind].measured_at, "rows": rows})
    return groups


def connectivity_strip(
    conn: Conn, user: Principal, board: BoardDetail, now: datetime
) -> list[Band]:
    """The last 24 hours' states, from the changes the page already holds
    (``board.history``, newest first) when they reach back past the day or
    are the whole history; read again only for a board that changed state
    more often than that in a day."""
    since = now - DAY
    history = board.history
    if len(history) < HISTORY or (history and history[-1].at < since):
        before = next((c for c in history if c.at < since), None)
        edges = [(since, before.state)] if before else []
        edges += [(c.at, c.state) for c in reversed(history) if since <= c.at < now]
    else:
        changes = connectivity(conn, user, board.id, since=since, until=now)
        edges = [(c.at, c.state) for c in changes]
    return state_strip(edges, since=since, until=now, current=board.state)


def board_context(
    conn: Conn, user: Principal, board_id: str, now: datetime, *, history: int = HISTORY
) -> dict[str, Any]:
    """The live part of the page: state, incidents, commands, configuration
    (``history``: state changes to read with the board; the live fragment
    shows none)."""
    board = get_board(conn, user, board_id, history=history)  # the scoped read: 404 outside
    # board.incidents: the worst and newest 100; open_incidents counts them all
    total, more = capped(max(board.open_incidents, len(board.incidents)))
    with checked_board(user.scope, board_id):
        return {
            "board": board,
            "incidents": board.incidents[:SHOWN_INCIDENTS],
            # the queue's "10.000+" convention: a count past COUNT_CAP is shown as the cap
            "incidents_total": total,
            "incidents_capped": more,
            # why it is offline: its open lost/stale incident's cause, as the engine judged it
            "offline": next((i for i in board.incidents if i.cause is not None), None),
            "since_seen": now - board.last_seen_at if board.last_seen_at else None,
            "commands": recent_commands(conn, user, board_id, now=now, limit=RECENT_COMMANDS),
            "command_badges": COMMAND_BADGES,
            "config": board_config(conn, user, board_id),
        }


@router.get("/boards/{board_id}")
def board_page(
    request: Request, conn: Db, now: Now, user: BoardReader, board_id: BoardId
) -> Response:
    return board_view(request, conn, now, user, board_id)


def board_view(
    request: Request,
    conn: Conn,
    now: datetime,
    user: Principal,
    board_id: str,
    refusal: dict[str, Any] | None = None,
) -> Response:
    """The board's page; after a refused form (``refusal``: its commands,
    its kill switch), with what was typed and why."""
    context = board_context(conn, user, board_id, now)  # 404 outside the scope
    board: BoardDetail = context["board"]
    lang = language_of(request, user)
    with checked_board(user.scope, board_id):  # the services below do not ask again
        _sections(request, conn, now, user, board, lang, context)
    context.update(refusal or {})
    return render(request, "board.html", user, context, lang=lang)


def _sections(
    request: Request,
    conn: Conn,
    now: datetime,
    user: Principal,
    board: BoardDetail,
    lang: str,
    context: dict[str, Any],
) -> None:
    board_id = board.id
    charts, chart_data = board_charts(conn, user, board_id, now)
    context.update(
        {
            "readings": readings(board.latest, i18n.translator(lang), lang),
            "charts": charts,  # _chart.html; drawn by static/board_charts.js
            "chart_json": script_json(chart_data),
            "strip": connectivity_strip(conn, user, board, now),
            "strip_width": 640,
            "tickets": board_tickets(conn, user, board_id, now),
            "windows": board_windows_section(conn, user, board_id),
            "pictures": pictures.board_pictures(conn, user, board),
            "availability": board_last_30_days(conn, board.id, board.site_id, now),
            "agent": agent_section(conn, user, board_id, lang),  # _agent_update.html
            "logs": log_bundles.board_section(conn, user, board_id),  # _logs.html
            "data_usage": data_usage_page.board_section(request, conn, user, board_id, now),
        }
    )


def board_tickets(
    conn: Conn, user: Principal, board_id: str, now: datetime
) -> CursorPage[TicketOut] | None:
    """The board's unfinished tickets due soonest (at most ``SHOWN_TICKETS``)
    and how many there are, capped (None: not the caller's to read)."""
    if not user.can("ticket.read"):
        return None
    return list_tickets(
        conn,
        user,
        ListParams(limit=SHOWN_TICKETS, offset=0, sort="due_at"),
        now=now,
        filters=TicketFilter(states=tuple(UNFINISHED), board_id=board_id),
    )


@router.post("/boards/{board_id}/commands")
def board_command(
    request: Request,
    conn: Db,
    ctx: Ctx,
    user: CommandSender,
    board_id: BoardId,
    command: Annotated[str, Form(), Longest(40)] = "",
    confirm: Annotated[str | None, Form(), Longest(10)] = None,
) -> Response:
    """A command button: the same checks, audit row and publishing as
    ``POST /api/v1/boards/{id}/commands``; back to the page's command list."""
    try:
        forms.fit({"command": command, "confirm": confirm})
        if command not in CONSOLE_COMMANDS:
            raise Invalid(f"unknown command {command[:40]!r}")
        body = CommandIn(command=command, confirm=confirm in ("true", "on", "1"))
        actor = user.acting_from(client_address(request))
        send_command(
            conn,
            user,
            actor,
            board_id,
            body,
            commands=ctx.commands,
            settings=ctx.settings,
            now=ctx.clock(),
        )
    except RequestError as exc:
        return forms.refused(
            conn,
            exc,
            {"command": command},
            lambda ctx_: board_view(request, conn, ctx.clock(), user, board_id, ctx_),
            "commands",
            {"confirm": "commands.reboot_confirm"},
        )
    conn.commit()
    return redirect(f"/boards/{board_id}#commands")
