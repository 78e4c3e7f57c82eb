"""The running parts of a demo, shared by ``fleet-server demo`` and its
tests: ingest, the engine under a demo profile, the notification delivery
worker, the local mail catcher, and a scenario started with its forecast
printed. (The embedded servers, the seed and the console are the demo's
own, in demo.py.)"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg

from fleet_server.engine.service import Engine
from fleet_server.ingest.service import IngestService
from fleet_server.notifications.worker import NotificationWorker
from fleet_server.settings import Settings
from fleet_server.simulator.boards import BoardSpec
from fleet_server.simulator.mailcatcher import MailCatcher
from fleet_server.simulator.outcome_model import Outcome, clock
from fleet_server.simulator.outcomes import forecast
from fleet_server.simulator.profile import DemoProfile
from fleet_server.simulator.runtime import Fleet as MultiplexedFleet
from fleet_server.simulator.scenarios import SCENARIOS, Fleet

log = logging.getLogger(__name__)

Say = Callable[[str], None]


@contextmanager
def mail_catcher(path: Path, port: int) -> Iterator[MailCatcher | None]:
    """The catcher on 127.0.0.1:``port``, or None without aiosmtpd."""
    catcher = MailCatcher(path, port)
    if not catcher.start():
        yield None
        return
    try:
        yield catcher
    finally:
        catcher.stop()


def _thread(
    target: Callable[[threading.Event], None], name: str
) -> tuple[threading.Thread, threading.Event]:
    stop = threading.Event()
    thread = threading.Thread(target=target, args=(stop,), name=name)
    thread.start()
    return thread, stop


@contextmanager
def services(
    settings: Settings, profile: DemoProfile, say: Say, *, deliver: bool = True
) -> Iterator[Engine]:
    """Ingest, the engine with ``profile``'s rules, and (``deliver``) the
    notification worker with ``settings``' SMTP (the mail catcher)."""
    ingest = IngestService(settings)
    ingest.start()
    running: list[tuple[threading.Thread, threading.Event]] = []
    try:
        if not ingest.consumer.subscribed.wait(15):  # the boards' first messages count
            say("warning: the broker has not confirmed ingest's subscriptions yet")
        engine = Engine(settings.database_url, profile.engine_settings())
        running.append(_thread(engine.run_forever, "engine"))
        if deliver:
            worker = NotificationWorker(settings.database_url, settings.notification_settings())
            running.append(_thread(worker.run_forever, "notify"))
        yield engine
    finally:
        for _, stop in running:
            stop.set()
        for thread, _ in running:
            thread.join(30)
        ingest.stop()


@dataclass(frozen=True, slots=True)
class StillOpen:
    """Incidents and tickets a reused data directory brings from an earlier
    run, counted before this run's engine starts."""

    incidents: int
    tickets: int

    def line(self) -> str | None:
        """What the demo prints of them at its start; None when there are none."""
        if not (self.incidents or self.tickets):
            return None
        incidents = f"{self.incidents} incident{'' if self.incidents == 1 else 's'}"
        tickets = f"{self.tickets} ticket{'' if self.tickets == 1 else 's'}"
        return (
            f"còn mở từ lần chạy trước: {self.incidents} sự cố, {self.tickets} phiếu bảo trì;"
            " sự cố tự đóng (có thông báo) hoặc vẫn mở theo những gì các bảng báo về, sự cố"
            " còn mở có thể được mở phiếu, phiếu chờ kỹ thuật viên"
            f" / still open from an earlier run: {incidents}, {tickets}; the incidents"
            " resolve (with notices) or stay open as the boards report, one still open may"
            " get its ticket, tickets wait for a technician"
        )


def still_open(conn: psycopg.Connection[tuple[Any, ...]]) -> StillOpen:
    """Incidents not resolved and tickets neither resolved nor closed (the
    seeded history leaves none: on a first start both are 0)."""
    row = conn.execute(
        "SELECT (SELECT count(*) FROM incidents WHERE state <> 'resolved'),"
        " (SELECT count(*) FROM tickets WHERE state NOT IN ('resolved', 'closed'))"
    ).fetchone()
    assert row is not None
    return StillOpen(int(row[0]), int(row[1]))


def start_scenario(
    fleet: Fleet,
    scenario: str,
    profile: DemoProfile,
    say: Say,
    *,
    started: Callable[[], float],
    now: datetime | None = None,
) -> Outcome:
    """Print what ``scenario`` will show and by when, then schedule it (and
    a line when it is over) on ``fleet``; ``started()`` is the seconds since
    the boards started, for the timeline."""

    def timeline(text: str) -> None:
        say(f"[{clock(started())}] {scenario}: {text}")

    outcome = forecast(scenario, fleet, profile, now or datetime.now(UTC))
    for line in outcome.lines():
        say(line)
    SCENARIOS[scenario](fleet, timeline, profile.timing())
    fleet.call_later(
        outcome.duration_s,
        lambda: timeline(
            "kịch bản đã xong; bản trình diễn tiếp tục tới Ctrl-C / scenario over; the demo"
            " keeps running until Ctrl-C"
        ),
    )
    return outcome


# -- boot counters of the multiplexed boards across demo runs ---------------------------


def resume_sessions(path: Path, specs: list[BoardSpec]) -> None:
    """Set each board's boot and first seq for this run: a board whose last
    run stopped cleanly continues its boot above the seq it had reached (a
    demo restart is no reboot); after a crash, or the first time, a new boot.
    (Real edge agents keep this in their spools: ``AgentFleet(resume_boots=True)``.)"""
    known = _read(path)
    for spec in specs:
        entry = known.get(spec.device_id, {})
        if entry.get("clean"):
            spec.boot, spec.seq = int(entry["boot"]), int(entry["seq"]) + 1
        else:
            spec.boot, spec.seq = int(entry.get("boot", 0)) + 1, 0
    _write(path, {s.device_id: {"boot": s.boot, "seq": s.seq, "clean": 0} for s in specs})


def record_sessions(path: Path, fleet: MultiplexedFleet) -> None:
    """After a clean stop: where each board's boot has got to."""
    _write(
        path,
        {b.device_id: {"boot": b.boot, "seq": b.seq, "clean": 1} for b in fleet.boards.values()},
    )


def _read(path: Path) -> dict[str, dict[str, int]]:
    try:
        found = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    if not isinstance(found, dict):
        return {}
    # an older demo kept only the boot counter: {board: boot}
    return {
        k: v if isinstance(v, dict) else {"boot": v}
        for k, v in found.items()
        if isinstance(v, (dict, int))
    }


def _write(path: Path, sessions: dict[str, dict[str, int]]) -> None:
    partial = path.with_suffix(".tmp")
    partial.write_text(json.dumps(sessions))
    partial.replace(path)
