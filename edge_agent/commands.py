"""Commands from the server (``cmd/<name>``) and desired configuration.

Each command carries a request id and is answered once on ``cmd_result``
(answers go through the spool, so they survive a lost link). A command whose
``expires_at`` has passed is answered ``expired`` and never executed: a
reboot queued for a board that was offline for a day must not fire when it
returns. Unknown commands and bad arguments are answered ``rejected``.

What a command acts on is the board's own: ``restart_player`` restarts the
unit of the board's ``agent.toml`` and ``reboot`` needs its ``allow_reboot``;
neither setting can be changed remotely (``fp.REMOTE_CONFIG_KEYS``).

The kill switch (Điều 12.2, ``edge_agent.kill_switch``): ``blank_screen`` and
``stop_content`` halt the board until ``resume``; their arguments are the
protocol's (``fp.check_kill_switch_args``). While halted, ``restart_player``
is refused: it would put the stopped content back on air.

``screenshot`` (``fp.check_screenshot_args``) uploads a picture of the screen,
of one camera or of all of them on the ``snapshot`` channel. An operator's
picture is never refused for the day's picture budget (it is counted in it,
so the unasked pictures stop earlier: edge_agent.proof.budget).

``collect_logs`` (``fp.check_collect_logs_args``) uploads the journal and a
diagnostics report on ``logs`` (edge_agent.diagnostics); it is answered
once they are made, off the loop, not at once (``LATER``).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from pydantic import JsonValue, ValidationError

import fleet_protocol as fp
from edge_agent.config import AgentConfig

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Outcome:
    status: str  # ok | error | rejected | expired
    output: dict[str, JsonValue] | None = None
    error: str | None = None


#: ``collect_logs`` is answered when its bundles are made, off the loop
#: (edge_agent.diagnostics.jobs): the agent sends nothing for it now.
LATER = Outcome("later")


class CommandHost(Protocol):
    """What commands need from the agent."""

    config: AgentConfig
    #: the configuration as loaded on the board, before any remote change
    board_config: AgentConfig
    boot: int

    def collect_now(self, kinds: list[str] | None) -> list[str]: ...
    def restart_player(self) -> str: ...
    def reboot(self) -> str: ...
    def apply_config(self, config: AgentConfig) -> None: ...
    def uptime_s(self) -> int: ...
    def halted(self) -> fp.HaltMode | None: ...
    def halt(self, mode: fp.HaltMode, reason: str) -> dict[str, JsonValue]: ...
    def resume(self, reason: str) -> dict[str, JsonValue]: ...
    def screenshot(
        self, source: str, camera_id: str | None, request_id: str
    ) -> tuple[list[dict[str, Any]], list[str]]: ...
    def update(self, args: dict[str, Any]) -> tuple[str, dict[str, Any] | None, str | None]: ...
    def collect_logs(self, request_id: str, args: fp.CollectLogsArgs) -> None: ...


def merge_config(current: AgentConfig, changes: dict[str, Any]) -> AgentConfig:
    """``current`` with ``changes`` applied, or ValueError naming the first problem.

    Only the settings of ``fp.REMOTE_CONFIG_KEYS`` may be changed: a change
    touching any other (the player's unit, a status URL, the broker, …) is
    refused as a whole, so nothing of it is applied. The merge and the check
    of the values are the protocol's (``fp.merge_remote_config``), the same
    the server runs before it sends a change.
    """
    try:
        merged = fp.merge_remote_config(current.model_dump(), changes)
    except fp.ProtocolError as exc:  # board_local or invalid_config, its detail names the key
        raise ValueError(exc.detail) from None
    try:
        return AgentConfig.model_validate(merged)
    except ValidationError as exc:
        first = exc.errors(include_url=False, include_input=False)[0]
        where = ".".join(str(p) for p in first["loc"])
        raise ValueError(f"{where}: {first['msg']}") from None


class CommandProcessor:
    def __init__(self, host: CommandHost, *, clock: Callable[[], datetime] | None = None) -> None:
        self.host = host
        self._clock = clock or (lambda: datetime.now(UTC))
        self._handlers: dict[str, Callable[[dict[str, JsonValue]], Outcome]] = {
            "ping": self._ping,
            "collect_now": self._collect_now,
            "restart_player": self._restart_player,
            "reboot": self._reboot,
            "set_config": self._set_config,
            "blank_screen": lambda args: self._halt("blank_screen", args),
            "stop_content": lambda args: self._halt("stop_content", args),
            "resume": self._resume,
            "update": self._update,
        }

    def execute(self, request: fp.CommandRequest) -> Outcome:
        if request.expires_at is not None and request.expires_at <= self._clock():
            log.info(
                "command %s (%s) expired at %s: not executed",
                request.command,
                request.request_id,
                request.expires_at.isoformat(),
            )
            return Outcome("expired", error=f"expired at {request.expires_at.isoformat()}")
        handler = self._handlers.get(request.command)
        if request.command == fp.SCREENSHOT_COMMAND:  # these need their request id
            request_id = request.request_id
            handler = lambda args: self._screenshot(args, request_id)  # noqa: E731
        elif request.command == fp.COLLECT_LOGS_COMMAND:
            request_id = request.request_id
            handler = lambda args: self._collect_logs(args, request_id)  # noqa: E731
        if handler is None:
            return Outcome("rejected", error=f"unknown command {request.command!r}")
        try:
            return handler(request.args)
        except Exception as exc:  # one failing command never stops the agent
            log.exception("command %s failed", request.command)
            return Outcome("error", error=f"{type(exc).__name__}: {exc}"[:500])

    # -- handlers ---------------------------------------------------------------------
    def _ping(self, args: dict[str, JsonValue]) -> Outcome:
        if args:
            return Outcome("rejected", error=f"ping takes no arguments, got {sorted(args)}")
        return Outcome(
            "ok", {"pong": True, "boot": self.host.boot, "uptime_s": self.host.uptime_s()}
        )

    def _collect_now(self, args: dict[str, JsonValue]) -> Outcome:
        kinds = args.get("kinds")
        extra = set(args) - {"kinds"}
        if extra:
            return Outcome("rejected", error=f"unknown arguments {sorted(extra)}")
        if kinds is not None:
            valid = {k.value for k in fp.TelemetryKind}
            if not isinstance(kinds, list) or not all(
                isinstance(k, str) and k in valid for k in kinds
            ):
                return Outcome(
                    "rejected", error=f"kinds must be a list of {', '.join(sorted(valid))}"
                )
        done = self.host.collect_now(kinds)  # type: ignore[arg-type]
        return Outcome("ok", {"collected": list(done)})

    def _restart_player(self, args: dict[str, JsonValue]) -> Outcome:
        if args:
            return Outcome("rejected", error="restart_player takes no arguments")
        halted = self.host.halted()
        if halted is not None:
            return Outcome(
                "rejected",
                error=f"the board is halted by order ({halted}); send resume to play again",
            )
        return Outcome("ok", {"detail": self.host.restart_player()})

    def _reboot(self, args: dict[str, JsonValue]) -> Outcome:
        if args.get("confirm") is not True:
            return Outcome("rejected", error='reboot needs {"confirm": true}')
        if not self.host.board_config.allow_reboot:
            return Outcome("rejected", error="reboot is disabled on this board (allow_reboot)")
        return Outcome("ok", {"detail": self.host.reboot()})

    def _set_config(self, args: dict[str, JsonValue]) -> Outcome:
        changes = args.get("config")
        if not isinstance(changes, dict) or set(args) - {"config"}:
            return Outcome("rejected", error='set_config takes {"config": {...}} only')
        try:
            merged = merge_config(self.host.config, changes)
        except ValueError as exc:
            return Outcome("rejected", error=str(exc))
        self.host.apply_config(merged)
        return Outcome("ok", {"applied": json.loads(json.dumps(changes))})

    def _halt(self, mode: fp.HaltMode, args: dict[str, JsonValue]) -> Outcome:
        try:
            checked = fp.check_kill_switch_args(mode, args)
        except fp.ProtocolError as exc:
            return Outcome("rejected", error=exc.detail)
        return Outcome("ok", self.host.halt(mode, checked.reason))

    def _screenshot(self, args: dict[str, JsonValue], request_id: str) -> Outcome:
        try:
            checked = fp.check_screenshot_args(args)
        except fp.ProtocolError as exc:
            return Outcome("rejected", error=exc.detail)
        sent, errors = self.host.screenshot(checked.source, checked.camera_id, request_id)
        if not sent:
            return Outcome("error", error="; ".join(errors)[:500] or "no picture taken")
        output: dict[str, JsonValue] = {"pictures": json.loads(json.dumps(sent))}
        if errors:
            output["errors"] = [e[:200] for e in errors]
        return Outcome("ok", output)

    def _collect_logs(self, args: dict[str, JsonValue], request_id: str) -> Outcome:
        """Logs and diagnostics (edge_agent.diagnostics): the bundles go out
        on ``logs``, the answer (``bundles``, ``bytes``) when they are made."""
        try:
            checked = fp.check_collect_logs_args(args)
        except fp.ProtocolError as exc:
            return Outcome("rejected", error=exc.detail)
        self.host.collect_logs(request_id, checked)
        return LATER

    def _update(self, args: dict[str, JsonValue]) -> Outcome:
        """Signed agent update (edge_agent.update): answered at once, the work
        goes on in the background and reports ``update`` events."""
        status, output, error = self.host.update(args)
        return Outcome(status, output, error)

    def _resume(self, args: dict[str, JsonValue]) -> Outcome:
        try:
            checked = fp.check_kill_switch_args("resume", args)
        except fp.ProtocolError as exc:
            return Outcome("rejected", error=exc.detail)
        return Outcome("ok", self.host.resume(checked.reason))
