"""The kill switch's commands and their arguments, shared by server and agent.

Điều 12.2 of the regulation asks the department to "áp dụng các biện pháp cần
thiết nhằm kịp thời ngăn chặn những thiệt hại" (take the necessary measures
to stop harm in time). When an unapproved file is on air, three commands
(``cmd/<name>``, answered on ``cmd_result`` like every command) stop it:

- ``blank_screen``: the screen shows black and the player stops;
- ``stop_content``: the player stops the content on air;
- ``resume``: undoes either.

Each takes ``{"reason": "..."}`` (required: who reads the board's log or the
command history must know why a public screen went dark), 1 … 500
characters of free text without a credential URL. The server checks the
arguments with :func:`check_kill_switch_args` before it stores a command,
the agent again before it acts. While halted the board says so in every
display reading (``DisplayData.halted``).

Compatibility: ``schema_version`` stays 1. The commands are new names on the
existing ``cmd/<name>`` topic, so an agent older than them answers
``rejected`` ("unknown command"), as for any command it does not know; the
``halted`` field is optional and left out when the board is not halted, so a
board that is never halted sends the same bytes as before.
"""

from __future__ import annotations

from typing import Annotated, Any, Final, Literal, get_args

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError

from fleet_protocol.errors import ProtocolError
from fleet_protocol.messages import HaltMode, Message500

KillSwitchCommand = Literal["blank_screen", "stop_content", "resume"]
KILL_SWITCH_COMMANDS: Final[tuple[KillSwitchCommand, ...]] = get_args(KillSwitchCommand)
HALT_MODES: Final[tuple[HaltMode, ...]] = get_args(HaltMode)
MAX_REASON_CHARS: Final = 500


def _not_blank(value: str) -> str:
    if not value.strip():
        raise ValueError("give a reason: it may not be empty or only spaces")
    return value


Reason = Annotated[Message500, Field(min_length=1), AfterValidator(_not_blank)]


class KillSwitchArgs(BaseModel):
    """``args`` of ``blank_screen``, ``stop_content`` and ``resume``."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, defer_build=True)

    reason: Reason


def check_kill_switch_args(command: str, args: dict[str, Any]) -> KillSwitchArgs:
    """The arguments of a kill-switch ``command``, or ProtocolError
    (``invalid_args``) whose detail names the command and the field."""
    if command not in KILL_SWITCH_COMMANDS:
        raise ProtocolError("invalid_args", f"{command!r} is not a kill-switch command")
    try:
        return KillSwitchArgs.model_validate(args)
    except ValidationError as exc:
        first = exc.errors(include_url=False, include_input=False)[0]
        where = ".".join(str(p)[:64] for p in first["loc"]) or "args"
        message = {
            "missing": 'required: {"reason": "why the board is stopped"}',
            "extra_forbidden": "unknown argument; only reason is allowed",
            "too_short": "give a reason: it may not be empty",
            "too_long": f"at most {MAX_REASON_CHARS} characters",
        }.get(first["type"], first["msg"].removeprefix("Value error, "))
        raise ProtocolError("invalid_args", f"{command}: {where}: {message}") from None


# --------------------------------------------------------------------------- screen proof

#: ``screenshot``: take a picture now and upload it (``snapshot`` channel),
#: outside the daily byte budget's interval pictures but counted in it.
SCREENSHOT_COMMAND: Final = "screenshot"
SnapshotTarget = Literal["screen", "camera", "all"]


class ScreenshotArgs(BaseModel):
    """``args`` of ``screenshot``: ``{"source": "screen"}`` (the default),
    ``{"source": "camera", "camera_id": "gate"}`` or ``{"source": "all"}``."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, defer_build=True)

    source: SnapshotTarget = "screen"
    camera_id: Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]{0,31}$")] | None = None


def check_screenshot_args(args: dict[str, Any]) -> ScreenshotArgs:
    """The arguments of ``screenshot``, or ProtocolError (``invalid_args``)
    naming the field."""
    try:
        parsed = ScreenshotArgs.model_validate(args)
    except ValidationError as exc:
        first = exc.errors(include_url=False, include_input=False)[0]
        where = ".".join(str(p)[:64] for p in first["loc"]) or "args"
        raise ProtocolError("invalid_args", f"screenshot: {where}: {first['msg']}") from None
    if parsed.source != "camera" and parsed.camera_id is not None:
        raise ProtocolError("invalid_args", "screenshot: camera_id: only with source camera")
    return parsed
