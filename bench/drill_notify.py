"""The engine drill: the leading engine is killed -9 while its notification
worker is in the middle of sending a notice.

A real edge agent is powered off (kill -9, not restarted): Mosquitto
publishes its last will, ingest stores it, the leading engine opens a
``board_lost`` incident and queues an e-mail notice (held for the engine's
``confirm_board_s``, 120 s, as every board connectivity notice is). A local SMTP server
(aiosmtpd) accepts the message's DATA and then never answers it. While the
leader's worker waits for that answer, a second engine is started (it stands
by: the advisory lock is taken) and the leader is killed. Measured: seconds
until the second engine leads, and until the notice is accepted by the SMTP
server, and how many copies arrived.
"""

from __future__ import annotations

import asyncio
import email
import threading
import time
from typing import Any

import psycopg
from aiosmtpd.controller import Controller

from bench.drill_run import Ctx, Run
from bench.drill_stack import wait_until
from fleet_server.engine.alerts import AlertSettings
from fleet_server.settings import Settings
from tests.support.ports import free_port

CONFIRM_S = AlertSettings().confirm_board_s


class StallingSink:
    """Accepts every message except the first, whose DATA is never answered."""

    def __init__(self) -> None:
        self.stalled = threading.Event()
        self.accepted: list[tuple[float, str]] = []  # (time, Message-ID)
        self.unanswered: list[str] = []

    async def handle_DATA(self, _server: Any, _session: Any, envelope: Any) -> str:  # noqa: N802
        message_id = email.message_from_bytes(envelope.original_content)["Message-ID"] or ""
        if not self.stalled.is_set():
            self.stalled.set()
            self.unanswered.append(message_id)
            await asyncio.sleep(3600)  # the sender dies waiting for the reply
        self.accepted.append((time.time(), message_id))
        return "250 OK"


def lease_s() -> float:
    """The sending lease the engines will use (their settings, as they read them)."""
    return float(Settings().notification_settings().sending_lease_s)


def _one(conn: psycopg.Connection[Any], query: str, *args: Any) -> Any:
    row = conn.execute(query, args).fetchone()
    return None if row is None else row[0]


def engine_failover(ctx: Ctx) -> dict[str, Any]:
    sink = StallingSink()
    port = free_port()
    smtp = Controller(sink, hostname="127.0.0.1", port=port)
    smtp.start()
    try:
        with Run(ctx, "engine_failover") as run:
            return _drill(ctx, run, sink, port)
    finally:
        smtp.stop()


def _drill(ctx: Ctx, run: Run, sink: StallingSink, smtp_port: int) -> dict[str, Any]:
    stack = run.stack
    (board,) = run.add_boards(1, interval_s=5)
    run.start()
    with psycopg.connect(stack.db_url, autocommit=True) as db:
        contact = _one(
            db,
            "INSERT INTO contacts (name, email) VALUES ('Trực kỹ thuật', 'truc@drill.invalid')"
            " RETURNING id",
        )
        db.execute(
            "INSERT INTO notification_routes (incident_class, channel, contact_id, min_severity)"
            " VALUES ('technical', 'email', %s, 'warning')",
            (contact,),
        )
    smtp_env = {
        "FLEET_SMTP_HOST": "127.0.0.1",
        "FLEET_SMTP_PORT": str(smtp_port),
        "FLEET_SMTP_SECURITY": "none",
        "FLEET_SMTP_FROM": "canh-bao@drill.invalid",
        "FLEET_NOTIFY_GROUP_WINDOW_S": "0",
    }
    leader = stack.server("engine", "engine-a", **smtp_env)
    if not wait_until(lambda: "is the active engine" in leader.log_text(), 60):
        raise RuntimeError("the first engine never led:\n" + leader.log_text()[-2000:])
    with psycopg.connect(stack.db_url, autocommit=True) as db:
        wait_until(
            lambda: (
                _one(db, "SELECT state FROM board_status WHERE board_id = %s", board.device_id)
                == "online"
            ),
            60,
            0.2,
        )
        power_cut = time.time()
        board.power_off()  # kill -9, not restarted: the broker publishes the will
        # board connectivity notices wait AlertSettings.confirm_board_s (120 s)
        # for a site outage that would replace them
        if not sink.stalled.wait(CONFIRM_S + 60):
            raise RuntimeError("no notice reached the SMTP server")
        stalled_at = time.time()
        standby = stack.server("engine", "engine-b", **smtp_env)
        # the standby's delivery worker is connected: it runs beside its engine
        wait_until(
            lambda: (
                _one(
                    db,
                    "SELECT count(*) FROM pg_stat_activity"
                    " WHERE application_name = 'fleet-notifications'",
                )
                >= 2
            ),
            60,
            0.1,
        )
        killed_at = time.time()
        leader.kill()
        led = wait_until(lambda: "is the active engine" in standby.log_text(), 120, 0.1)
        led_at = time.time()
        # a claim of a dead worker is taken back after the sending lease
        deadline = lease_s() + ctx.scale.notice_deadline_s - (led_at - killed_at)
        wait_until(lambda: bool(sink.accepted), deadline, 0.1)
        rows = db.execute(
            "SELECT state, attempts, last_error FROM notification_outbox ORDER BY id"
        ).fetchall()
    delivered = {mid for _, mid in sink.accepted}
    first = min((t for t, _ in sink.accepted), default=None)
    queued = len(rows)
    return {
        "drill": "engine_failover",
        "published": queued,
        "stored_distinct": len(delivered),
        "duplicate_rows": len(sink.accepted) - len(delivered),
        "lost": max(0, queued - len(delivered)),
        "dead_lettered": sum(1 for r in rows if r[0] == "failed"),
        "recovery_s": round(first - killed_at, 2) if first else None,
        "takeover_s": round(led_at - killed_at, 2) if led else None,
        "peak_rss_mb": stack.sampler.stop(),
        "ok": bool(first) and len(sink.accepted) == 1 and queued >= 1,
        "notice": {
            "sending_lease_s": lease_s(),
            "power_cut_to_stalled_send_s": round(stalled_at - power_cut, 2),
            "stalled_send_to_kill_s": round(killed_at - stalled_at, 2),
            "unanswered_copies": len(sink.unanswered),
            "outbox": [{"state": r[0], "attempts": r[1], "last_error": r[2]} for r in rows],
        },
        "fault": {"engine": "kill -9 of the leader while its worker waits for SMTP DATA"},
        "wall_s": round(time.time() - run.started, 1),
    }
