"""The update state file (``[update] state_path``), shared with the boot guard.

One JSON object, one top-level key per line (``indent=1``, sorted keys): the
guard (``bin/edge-agent-guard``, POSIX sh) reads and rewrites its lines with
sed, so the layout is part of the contract. ``deadline`` is a Unix time in
whole seconds for the same reason.

States: ``downloading`` / ``downloaded`` (nothing switched yet; resumed after
a restart), ``trying`` (switched to ``version``, waiting to be healthy),
``healthy``, ``rolled_back`` (back on ``previous``), ``failed`` (nothing
switched). ``reported`` says whether the final event left the board.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal, get_args

log = logging.getLogger(__name__)

Phase = Literal["downloading", "downloaded", "trying", "healthy", "rolled_back", "failed"]
IN_PROGRESS: frozenset[str] = frozenset({"downloading", "downloaded", "trying"})
_PHASES: frozenset[str] = frozenset(get_args(Phase))


@dataclass
class UpdateRecord:
    state: Phase
    version: str
    url: str = ""
    manifest: dict[str, Any] = field(default_factory=dict)
    rollout_id: int | None = None
    health_deadline_s: int = 300
    previous: str | None = None
    deadline: int = 0
    boot_attempts: int = 0
    max_boot_attempts: int = 3
    root: str = ""
    reason: str | None = None
    reported: bool = False

    @property
    def in_progress(self) -> bool:
        return self.state in IN_PROGRESS

    def problem(self) -> str | None:
        """What makes this record unusable (a file edited by hand, damaged), or None."""
        expected: list[tuple[str, object, tuple[type, ...]]] = [
            ("version", self.version, (str,)),
            ("url", self.url, (str,)),
            ("manifest", self.manifest, (dict,)),
            ("rollout_id", self.rollout_id, (int, type(None))),
            ("health_deadline_s", self.health_deadline_s, (int,)),
            ("previous", self.previous, (str, type(None))),
            ("deadline", self.deadline, (int,)),
            ("boot_attempts", self.boot_attempts, (int,)),
            ("reason", self.reason, (str, type(None))),
            ("reported", self.reported, (bool,)),
        ]
        if self.state not in _PHASES:
            return f"state {str(self.state)[:40]!r}"
        for name, value, types in expected:
            if not isinstance(value, types) or (isinstance(value, bool) and bool not in types):
                return f"{name} {str(value)[:40]!r}"
        return None


class StateFile:
    def __init__(self, path: Path) -> None:
        self.path = path

    def load(self) -> UpdateRecord | None:
        """The record, or None when there is none or it cannot be read (logged:
        an unreadable state must not stop the agent; the guard ignores it too)."""
        try:
            doc = json.loads(self.path.read_text(encoding="utf-8"))
            known = {k: doc[k] for k in UpdateRecord.__dataclass_fields__ if k in doc}
            record = UpdateRecord(**known)
        except FileNotFoundError:
            return None
        except (OSError, ValueError, TypeError) as exc:
            log.warning("update state %s unreadable, ignored: %s", self.path, str(exc)[:200])
            return None
        problem = record.problem()
        if problem is not None:
            log.warning("update state %s has a bad %s, ignored", self.path, problem)
            return None
        return record

    def save(self, record: UpdateRecord) -> None:
        text = json.dumps(asdict(record), indent=1, sort_keys=True, ensure_ascii=True) + "\n"
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        tmp = self.path.with_name(self.path.name + ".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
        try:
            os.fchmod(fd, 0o600)  # a leftover tmp file keeps its mode through O_CREAT
            os.write(fd, text.encode("ascii"))
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, self.path)
        with contextlib.suppress(OSError):
            dir_fd = os.open(self.path.parent, os.O_RDONLY)
            try:
                os.fsync(dir_fd)
            finally:
                os.close(dir_fd)
