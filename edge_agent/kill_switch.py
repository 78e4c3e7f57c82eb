"""The kill switch (Điều 12.2): blank the screen or stop the content by
order, keep the order across restarts, resume.

Điều 12.2 asks the department to "áp dụng các biện pháp cần thiết nhằm kịp
thời ngăn chặn những thiệt hại": when an unapproved file is on air, the
server sends ``blank_screen`` or ``stop_content`` (fleet_protocol.commands)
and the agent carries it out through :class:`PlayerControl`, the one seam
between the agent and the board's screen and player:

- :class:`SystemPlayerControl` (a real board): ``blank`` runs the board's
  ``display.blank_command`` (e.g. ``vcgencmd display_power 0``, ``xset dpms
  force off``) and stops ``display.player_unit``; ``stop_content`` stops the
  unit; ``resume`` runs ``display.unblank_command`` and starts the unit. All
  three come from the board's own ``agent.toml`` (board-local: no command or
  configuration from the server can name what runs).
- :class:`SimulatedPlayerControl`: the simulated board's screen and player.

The order is kept in ``halt_file`` (:class:`HaltStore`, JSON written
atomically) *before* it is carried out, so a board that restarts — the agent,
the player or the whole controller — comes back halted and the agent applies
the order again until ``resume``. A halt file that cannot be read keeps the
board blank (failing safe: a public screen stays dark rather than showing
what was stopped) until ``resume`` replaces it.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path
from typing import Protocol

from edge_agent.config import DisplayConfig
from edge_agent.simulation import SimulatedBoard
from fleet_protocol import HALT_MODES, HaltMode

log = logging.getLogger(__name__)

#: Seconds a board's blank or unblank command may take.
COMMAND_TIMEOUT_S = 30.0


@dataclass(frozen=True, slots=True)
class Halt:
    """A kill-switch order in force on this board."""

    mode: HaltMode
    reason: str
    since: str  # ISO 8601, the agent's clock when the order was carried out


class HaltStore:
    """The order in force, in one small JSON file that survives restarts."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def load(self) -> Halt | None:
        try:
            raw = self.path.read_bytes()
        except (FileNotFoundError, NotADirectoryError):
            return None  # no order was ever kept there
        except OSError as exc:
            log.error("halt file %s unreadable (%s): keeping the screen blank", self.path, exc)
            return Halt("blank_screen", f"halt file unreadable: {exc.strerror}", "")
        try:
            doc = json.loads(raw)
            mode, reason, since = doc["mode"], doc["reason"], doc["since"]
            if mode not in HALT_MODES or not isinstance(reason, str) or not isinstance(since, str):
                raise ValueError("unexpected values")
        except (ValueError, KeyError, TypeError) as exc:
            log.error("halt file %s is not valid (%s): keeping the screen blank", self.path, exc)
            return Halt("blank_screen", "halt file not valid", "")
        return Halt(mode, reason[:500], since[:64])

    def save(self, halt: Halt) -> None:
        """Write atomically (a power cut leaves the old file or the new one)."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        temp = self.path.with_name(self.path.name + ".tmp")
        with open(temp, "w", encoding="utf-8") as out:
            json.dump(asdict(halt), out, ensure_ascii=False)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temp, self.path)
        _sync_dir(self.path.parent)

    def clear(self) -> None:
        try:
            self.path.unlink()
        except FileNotFoundError:
            return
        _sync_dir(self.path.parent)


def _sync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


class PlayerControl(Protocol):
    """What the kill switch does to the screen and the player. Each method
    returns a short description of what it did, or raises with the reason."""

    def blank(self) -> str: ...
    def stop_content(self) -> str: ...
    def resume(self, mode: HaltMode) -> str: ...


def _run(argv: Sequence[str]) -> None:
    try:
        done = subprocess.run(
            list(argv),
            check=False,
            timeout=COMMAND_TIMEOUT_S,
            capture_output=True,
            text=True,
            errors="replace",
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise RuntimeError(f"{argv[0]} could not be run: {exc}") from None
    if done.returncode != 0:
        said = (done.stderr or done.stdout).strip().splitlines()
        raise RuntimeError(
            f"{argv[0]} failed ({said[-1][:200] if said else f'exit {done.returncode}'})"
        )


class SystemPlayerControl:
    """A real board: its blank/unblank commands and the player's systemd unit."""

    def __init__(
        self,
        display: DisplayConfig,
        systemctl: Callable[..., None],
        run: Callable[[Sequence[str]], None] = _run,
    ) -> None:
        self._display = display
        self._systemctl = systemctl
        self._run = run

    def blank(self) -> str:
        command = self._display.blank_command
        if not command:
            raise RuntimeError(
                "no display.blank_command in this board's agent.toml: the screen cannot be"
                " blanked; send stop_content to stop the player"
            )
        self._run(command)
        done = [f"screen blanked ({command[0]})"]
        unit = self._display.player_unit
        if unit:
            self._systemctl("stop", unit)
            done.append(f"stopped {unit}")
        return "; ".join(done)

    def stop_content(self) -> str:
        unit = self._display.player_unit
        if not unit:
            raise RuntimeError("no display.player_unit in this board's agent.toml")
        self._systemctl("stop", unit)
        return f"stopped {unit}"

    def resume(self, mode: HaltMode) -> str:
        done = []
        if mode == "blank_screen" and self._display.unblank_command:
            self._run(self._display.unblank_command)
            done.append(f"screen on ({self._display.unblank_command[0]})")
        unit = self._display.player_unit
        if unit:
            self._systemctl("start", unit)
            done.append(f"started {unit}")
        return "; ".join(done) or "nothing to undo"


class SimulatedPlayerControl:
    """The simulated board's screen and player."""

    def __init__(self, board: SimulatedBoard) -> None:
        self._board = board

    def blank(self) -> str:
        self._board.screen_on = False
        self._board.player_running = False
        return "simulated screen blanked and player stopped"

    def stop_content(self) -> str:
        self._board.player_running = False
        return "simulated player stopped"

    def resume(self, mode: HaltMode) -> str:
        self._board.screen_on = True
        self._board.player_running = True
        return f"simulated board resumed after {mode}"


def since(at: datetime) -> str:
    return at.isoformat().replace("+00:00", "Z")


class KillSwitch:
    """The order in force and how it is carried out, kept by ``store``."""

    def __init__(
        self, store: HaltStore, control: PlayerControl, clock: Callable[[], datetime]
    ) -> None:
        self.store = store
        self.control = control
        self._clock = clock
        self.current = store.load()

    @property
    def mode(self) -> HaltMode | None:
        return None if self.current is None else self.current.mode

    def halt(self, mode: HaltMode, reason: str) -> dict[str, str | None]:
        """Carry out ``mode``; the order is written first, so a crash half-way
        still comes back halted. On failure the previous order (or none) is
        put back and the error raised."""
        before = self.current
        if before is not None and before.mode == "blank_screen" and mode == "stop_content":
            # a black screen with the player stopped already stops the content
            return {"halted": before.mode, "detail": "already blanked; the order stands"}
        order = Halt(mode, reason, since(self._clock()))
        unkept = self._keep(order)
        try:
            detail = self.control.blank() if mode == "blank_screen" else self.control.stop_content()
        except Exception:
            self._keep(before)
            raise
        self.current = order
        log.warning("halted by order (%s): %s", mode, reason[:200])
        done: dict[str, str | None] = {"halted": mode, "detail": detail, "since": order.since}
        if unkept is not None:
            # Stopping the harm comes first: carried out, but lost at a restart.
            done["warning"] = f"not kept across a restart: {unkept}"[:300]
        return done

    def _keep(self, order: Halt | None) -> str | None:
        """Write (or remove) the order; the error, if it could not be."""
        try:
            if order is None:
                self.store.clear()
            else:
                self.store.save(order)
        except OSError as exc:
            log.error("halt file %s cannot be written: %s", self.store.path, exc)
            return f"{type(exc).__name__}: {exc.strerror or exc}"
        return None

    def resume(self, reason: str) -> dict[str, str | None]:
        """Undo the order in force; on failure it stays in force."""
        order = self.current
        if order is None:
            return {"halted": None, "detail": "not halted: nothing to resume"}
        detail = self.control.resume(order.mode)
        self.current = None
        unkept = self._keep(None)
        log.warning("resumed after %s: %s", order.mode, reason[:200])
        done: dict[str, str | None] = {"halted": None, "detail": detail, "resumed": order.mode}
        if unkept is not None:
            done["warning"] = f"the order may come back at a restart: {unkept}"[:300]
        return done

    def apply_again(self) -> str:
        """Carry out the order in force again (at start, or when a reading
        shows content on air despite it)."""
        assert self.current is not None
        if self.current.mode == "blank_screen":
            return self.control.blank()
        return self.control.stop_content()
