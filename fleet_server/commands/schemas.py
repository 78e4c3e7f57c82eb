"""The API's models of commands and desired configuration. The records the
API answers with (``CommandRecord``, ``DesiredVersion``, ``ReportedConfig``)
are the storage's own (``storage.py``): the publisher and the retry use them
too."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, JsonValue

from fleet_server.commands.storage import DesiredVersion, ReportedConfig
from fleet_server.commands.validation import CommandName


class CommandIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    command: CommandName
    args: Annotated[dict[str, JsonValue], Field(max_length=64)] = Field(
        default_factory=dict,
        description="collect_now: optional `kinds`; set_config: `config`; the others none"
        " (the kill switch's reason is the note)",
    )
    confirm: bool = Field(
        default=False,
        description="must be true for reboot (the screen goes dark for a while) and for"
        " blank_screen and stop_content (what is on air stops until resume)",
    )
    expires_in_s: int | None = Field(
        default=None,
        ge=1,
        le=7 * 86_400,
        description="seconds the board may still execute it (default FLEET_COMMAND_EXPIRES_S;"
        " bounds FLEET_COMMAND_EXPIRES_MIN_S … FLEET_COMMAND_EXPIRES_MAX_S)",
    )
    note: str | None = Field(
        default=None,
        max_length=500,
        description="why; kept on the server and not sent, except for blank_screen,"
        " stop_content and resume: required, and sent to the board as the reason",
    )


class ConfigIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    config: Annotated[dict[str, JsonValue], Field(max_length=128)] = Field(
        description="remote-editable agent settings: intervals, network, spool, log_level, display"
    )


class ConfigStatus(BaseModel):
    board_id: str
    #: the newest desired version (what the board should run)
    desired_version: int | None
    desired: list[DesiredVersion]
    #: the board's newest report, applied or not
    reported: ReportedConfig | None
    #: the newest version the board reported as applied
    applied_version: int | None
    in_sync: bool
