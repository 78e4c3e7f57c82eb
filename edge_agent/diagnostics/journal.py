"""The journal extract: the last ``minutes`` (at most ``lines`` lines) of the
agent's and the player's systemd journal, and the last lines of the files
``[diagnostics] log_files`` names; redacted line by line.

The agent runs as an unprivileged user: to read the player's unit it must be
in the ``systemd-journal`` group (docs/agent.md). Whatever cannot be read is
said in the extract itself and in the command's answer, never fatal.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from edge_agent.collectors._command import run_command
from edge_agent.config import AgentConfig
from edge_agent.errors import CollectorError

#: How many bytes a file's tail is read from per line asked for.
_BYTES_PER_LINE = 512

Runner = Callable[[Sequence[str], float], tuple[int, str, str]]


def run_tool(argv: Sequence[str], timeout_s: float) -> tuple[int, str, str]:
    result = run_command(argv, timeout_s)
    return result.returncode, result.stdout, result.stderr


@dataclass
class Extract:
    #: oldest first, each ending in a newline
    lines: list[str] = field(default_factory=list)
    #: what could not be read, one short sentence each
    errors: list[str] = field(default_factory=list)


def journal_argv(config: AgentConfig, minutes: int, lines: int) -> list[str]:
    """What prints the journal: ``[diagnostics] journal_command`` with
    ``{minutes}`` and ``{lines}`` filled in, or journalctl for the agent's
    unit and the player's."""
    custom = config.diagnostics.journal_command
    if custom is not None:
        return [w.replace("{minutes}", str(minutes)).replace("{lines}", str(lines)) for w in custom]
    argv = ["journalctl", "-u", config.diagnostics.agent_unit]
    if config.display.player_unit:
        argv += ["-u", config.display.player_unit]
    return [*argv, "--since", f"-{minutes}min", "-n", str(lines), "-o", "short-iso", "--no-pager"]


def tail(path: Path, lines: int) -> list[str]:
    """The last ``lines`` lines of ``path``, reading at most 512 bytes a line
    from its end (a log file may be huge)."""
    with path.open("rb") as handle:
        handle.seek(0, os.SEEK_END)
        size = handle.tell()
        start = max(0, size - lines * _BYTES_PER_LINE)
        handle.seek(start)
        data = handle.read()
    text = data.decode(errors="replace").splitlines(keepends=True)
    if start > 0 and text:
        text = text[1:]  # the first line was cut by the seek
    return [line if line.endswith("\n") else line + "\n" for line in text[-lines:]]


def read_journal(
    config: AgentConfig,
    minutes: int,
    lines: int,
    redact: Callable[[str], str],
    *,
    run: Runner = run_tool,
) -> Extract:
    """The redacted extract (see the module); ``run`` runs a program (tests)."""
    extract = Extract()
    files = config.diagnostics.log_files
    argv = journal_argv(config, minutes, lines)
    # ``lines`` in all, shared between the journal and the files
    each = max(1, lines // max(1, len(files) + bool(argv)))
    argv = journal_argv(config, minutes, each) if argv else argv
    timeout = config.diagnostics.timeout_s
    if argv:
        try:
            code, out, err = run(argv, timeout)
        except CollectorError as exc:  # NotPresent too: no journalctl on this board
            extract.errors.append(f"journal: {exc}")
        else:
            if code != 0:
                last = (err.strip().splitlines() or [f"exit status {code}"])[-1]
                extract.errors.append(f"journal: {argv[0]} failed: {last[:200]}")
            extract.lines += out.splitlines(keepends=True)[-each:]
    for path in files:
        try:
            found = tail(path, max(1, each - 1))
        except OSError as exc:
            extract.errors.append(f"{path}: {exc.strerror or exc}")
            continue
        extract.lines.append(f"==> {path} <==\n")
        extract.lines += found
    extract.lines = [redact(line if line.endswith("\n") else line + "\n") for line in extract.lines]
    extract.errors = [redact(e) for e in extract.errors]
    # the errors last: cutting to fit drops the oldest lines, never these
    notes = [f"-- {e}\n" for e in extract.errors][:lines]
    room = lines - len(notes)
    extract.lines = (extract.lines[-room:] if room > 0 else []) + notes
    return extract
