"""Running a board tool (upsc, ping, mmcli, timedatectl …) without ever hanging.

Every tool runs in its own process group with a C locale and a deadline; on
timeout the whole group is killed, so a child that forked helpers holding our
pipes cannot keep us waiting.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass

from edge_agent.errors import CollectorError, NotPresent

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class CommandResult:
    returncode: int
    stdout: str
    stderr: str

    @property
    def ok(self) -> bool:
        return self.returncode == 0

    def error_text(self) -> str:
        """The tool's own complaint: the last non-empty line of stderr (or stdout)."""
        for text in (self.stderr, self.stdout):
            lines = [line.strip() for line in text.splitlines() if line.strip()]
            if lines:
                return lines[-1][:300]
        return f"exit status {self.returncode}"


def run_command(argv: Sequence[str], timeout_s: float) -> CommandResult:
    """Run ``argv`` and return what it printed.

    Raises NotPresent when the program does not exist (or may not be run), and
    CollectorError when it does not finish within ``timeout_s``.
    """
    try:
        proc = subprocess.Popen(
            list(argv),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            errors="replace",
            env={**os.environ, "LC_ALL": "C", "LANG": "C"},  # parseable, untranslated output
            start_new_session=True,
        )
    except (FileNotFoundError, PermissionError, NotADirectoryError) as exc:
        raise NotPresent(f"{argv[0]} is not installed or not executable") from exc
    try:
        stdout, stderr = proc.communicate(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        _kill_group(proc)
        with contextlib.suppress(subprocess.TimeoutExpired):  # a grandchild escaped the group
            proc.communicate(timeout=2)
        log.warning("%s did not finish within %.1fs; killed", argv[0], timeout_s)
        raise CollectorError(f"{argv[0]} did not answer within {timeout_s:g}s") from None
    return CommandResult(proc.returncode, stdout, stderr)


def _kill_group(proc: subprocess.Popen[str]) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
