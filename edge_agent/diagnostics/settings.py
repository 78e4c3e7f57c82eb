"""``[diagnostics]``: where this board's logs come from (board-local: it names
programs to run and files to read, so a server can never change it)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from fleet_protocol.remote_config import Seconds


class DiagnosticsConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    #: the agent's own systemd unit (the player's is ``display.player_unit``)
    agent_unit: str = "edge-agent.service"
    #: the program printing the journal, instead of ``journalctl -u <agent>
    #: -u <player> --since -<minutes>min -n <lines> -o short-iso --no-pager``;
    #: ``{minutes}`` and ``{lines}`` in its words are replaced; ``[]``: none
    #: (a board without journald: use ``log_files``)
    journal_command: list[Annotated[str, Field(min_length=1)]] | None = Field(
        default=None, max_length=32
    )
    #: files whose last lines join the extract (a player writing its own log)
    log_files: list[Path] = Field(default_factory=list, max_length=8)
    #: the longest the journal or one tool may take
    timeout_s: Seconds = 20.0
