"""What the server lets an operator send: the commands the edge agent
executes, their arguments, and remote configuration changes.

The kill switch (Điều 12.2: ``blank_screen``, ``stop_content``, ``resume``)
needs the capability ``board.halt`` and a reason (the request's ``note``,
sent to the board as ``args.reason`` and checked with the protocol's
``fp.check_kill_switch_args``); stopping what is on air also needs
``"confirm": true``.

Arguments are checked here with the agent's own rules (for configuration the
protocol's ``fp.merge_remote_config``, which the agent applies changes with),
so a mistake is a 4xx naming it instead of a ``rejected`` answer minutes later
from a board across the province. The agent checks everything again: the
server is not trusted blindly either.
"""

from __future__ import annotations

from typing import Any, Literal, get_args

from pydantic import JsonValue

import fleet_protocol as fp
from fleet_server.errors import RequestError

CommandName = Literal[
    "ping",
    "collect_now",
    "restart_player",
    "reboot",
    "set_config",
    "blank_screen",
    "stop_content",
    "resume",
    "screenshot",
    "collect_logs",
]
COMMANDS: tuple[CommandName, ...] = get_args(CommandName)
#: The kill switch (Điều 12.2): who may send these, ``board.halt``.
KILL_SWITCH: frozenset[str] = frozenset(fp.KILL_SWITCH_COMMANDS)


def capability_for(command: str) -> str:
    """The capability sending ``command`` needs."""
    return "board.halt" if command in KILL_SWITCH else "command.send"


TELEMETRY_KINDS = tuple(kind.value for kind in fp.TelemetryKind)


class CommandRefused(RequestError):
    """A command or configuration the server will not send (a 4xx). A value
    refused with 422 names its field, listed under the problem's ``errors``."""

    def __init__(self, status: int, kind: str, detail: str, *, field: str | None = None) -> None:
        extra: dict[str, Any] = {}
        if status == 422 and field:
            extra["errors"] = [{"field": field, "message": detail.removeprefix(f"{field}: ")}]
        super().__init__(detail, **extra)
        self.status = status
        self.kind = "validation" if extra else kind
        self.title = "Invalid request" if extra else None
        self.field = field


def _invalid(field: str, detail: str) -> CommandRefused:
    return CommandRefused(422, "validation", f"{field}: {detail}", field=field)


def check_text(value: object, field: str) -> None:
    """No NUL character anywhere (keys or values): PostgreSQL's jsonb cannot
    hold one, and no board setting needs one."""
    if isinstance(value, str):
        if "\x00" in value:
            raise _invalid(field, "text may not contain NUL (\\u0000) characters")
    elif isinstance(value, dict):
        for key, item in value.items():
            check_text(key, field)
            check_text(item, field)
    elif isinstance(value, list):
        for item in value:
            check_text(item, field)


def check_config(board_id: str, changes: dict[str, Any], *, field: str) -> None:
    """Refuse configuration the agent would reject: settings outside the
    protocol's allow-list (``fp.REMOTE_CONFIG_KEYS``: the player's unit, status
    URLs, the broker, credentials … stay on the board), values its settings
    model refuses (``fp.RemoteConfig``, from the agent's defaults). Nothing
    refused here is stored, audited or published. ``board_id`` is the board
    the change is for: the defaults are every board's, so it does not change
    the answer today."""
    if not changes:
        raise _invalid(field, "give at least one setting")
    check_text(changes, field)
    try:
        fp.check_remote_config(changes)
    except fp.ProtocolError as exc:
        raise _invalid(field, exc.detail) from None
    try:
        fp.merge_remote_config(fp.RemoteConfig().model_dump(), changes)
    except fp.ProtocolError as exc:
        raise _invalid(field, exc.detail) from None


def kill_switch_args(
    command: CommandName, args: dict[str, JsonValue], *, confirm: bool, note: str | None
) -> dict[str, JsonValue]:
    """``{"reason": note}`` for a kill-switch command, or CommandRefused."""
    if args:
        raise _invalid(
            "args", f"{command} takes no arguments (the reason is the note), got {sorted(args)}"
        )
    if command != "resume" and not confirm:
        raise CommandRefused(
            400,
            "confirmation-required",
            f'{command} needs "confirm": true: what is on air stops until someone sends resume',
        )
    reason = (note or "").strip()
    if not reason:
        raise _invalid("note", f"{command} needs a reason: say why in the note")
    try:
        fp.check_kill_switch_args(command, {"reason": reason})
    except fp.ProtocolError as exc:
        raise _invalid("note", exc.detail.removeprefix(f"{command}: reason: ")) from None
    return {"reason": reason}


def collect_now_args(args: dict[str, JsonValue]) -> dict[str, JsonValue]:
    """``collect_now``'s arguments (optional ``kinds``), or CommandRefused."""
    extra = sorted(set(args) - {"kinds"})
    if extra:
        raise _invalid("args", f"collect_now takes only kinds, got {extra}")
    kinds = args.get("kinds")
    if kinds is None:
        return {}
    if (
        not isinstance(kinds, list)
        or not kinds
        or not all(isinstance(k, str) and k in TELEMETRY_KINDS for k in kinds)
        or len(set(kinds)) != len(kinds)
    ):
        raise _invalid(
            "args.kinds", f"a non-empty list without repeats of {', '.join(TELEMETRY_KINDS)}"
        )
    return {"kinds": list(kinds)}


def screenshot_args(args: dict[str, JsonValue]) -> dict[str, JsonValue]:
    """``screenshot``'s arguments (source screen, camera with camera_id, or
    all), or CommandRefused naming the field."""
    try:
        wanted = fp.check_screenshot_args(dict(args))
    except fp.ProtocolError as exc:
        raise _invalid("args", exc.detail) from None
    return dict(wanted.model_dump(exclude_none=True))


def collect_logs_args(args: dict[str, JsonValue]) -> dict[str, JsonValue]:
    """``collect_logs``'s arguments with the defaults filled in (what the
    board will do, in the command's history), or CommandRefused naming the field."""
    try:
        wanted = fp.check_collect_logs_args(dict(args))
    except fp.ProtocolError as exc:
        raise _invalid("args", exc.detail) from None
    return dict(wanted.model_dump())


def wire_args(
    board_id: str,
    command: CommandName,
    args: dict[str, JsonValue],
    *,
    confirm: bool,
    note: str | None = None,
) -> dict[str, JsonValue]:
    """The arguments to publish for ``command``, or CommandRefused."""
    check_text(args, "args")
    if command in KILL_SWITCH:
        return kill_switch_args(command, args, confirm=confirm, note=note)
    if command == "reboot":
        if not confirm:
            raise CommandRefused(
                400,
                "confirmation-required",
                'reboot needs "confirm": true: the board restarts and its screen goes dark'
                " for a minute or two",
            )
        if args:
            raise _invalid("args", f"reboot takes no arguments, got {sorted(args)}")
        return {"confirm": True}
    if command in ("ping", "restart_player"):
        if args:
            raise _invalid("args", f"{command} takes no arguments, got {sorted(args)}")
        return {}
    if command == "collect_logs":
        return collect_logs_args(args)
    if command in ("screenshot", "collect_now"):
        return screenshot_args(args) if command == "screenshot" else collect_now_args(args)
    # set_config
    extra = sorted(set(args) - {"config"})
    changes = args.get("config")
    if extra or not isinstance(changes, dict):
        raise _invalid("args", 'set_config takes {"config": {...}} only')
    check_config(board_id, changes, field="args.config")
    return {"config": changes}
