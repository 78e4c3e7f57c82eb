"""Why a board is offline, one cause per test: a recorded message sequence
(real protocol messages: births, heartbeats, power, network, last wills)
goes through ingest's own validation and writer into PostgreSQL at the
times it was received, the engine runs its passes on the test's clock, and
the incident's cause, its evidence, its history and its notice are read
back."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import psycopg
import pytest

import fleet_protocol as fp
from fleet_server.engine import offline_verdict, offline_words, pipeline_health, service_offline
from fleet_server.engine.service import Engine
from fleet_server.engine.storage import statuses
from fleet_server.incidents import lifecycle
from fleet_server.incidents import storage as incidents_db
from fleet_server.incidents.schemas import offline_explanation
from fleet_server.ingest.consumer import Inbound
from fleet_server.ingest.service import classify
from fleet_server.notifications.templates import render
from fleet_server.settings import Settings
from fleet_server.telemetry.storage import Accepted, BatchWriter
from tests.server.engine.conftest import Conn
from tests.support.clock import Clock

A, B = "lc-ma-lu-thang-01", "lc-ma-lu-thang-02"  # the two boards at Ma Lù Thàng
C = "lc-sin-ho-01"
D, E = "lc-u-ma-tu-khoong-01", "lc-pa-nam-cum-01"


@dataclass(order=True)
class Sent:
    received_s: float  # seconds after the start, by the server's clock
    order: int
    topic: str = field(compare=False)
    message: Any = field(compare=False)


class Recording:
    """Board messages as the server received them: each measured at a time,
    sent then (live) or later (``sent_s``: a spool replay), received at
    ``received_s`` (default: when sent)."""

    def __init__(self, start: datetime) -> None:
        self.start = start
        self.sent: list[Sent] = []
        self._seq: dict[tuple[str, int], int] = {}

    def _add(
        self,
        board: str,
        kind: str,
        data: Any,
        at_s: float,
        *,
        boot: int,
        sent_s: float | None = None,
        received_s: float | None = None,
    ) -> None:
        seq = self._seq.get((board, boot), 0)
        self._seq[(board, boot)] = seq + 1
        measured = self.start + timedelta(seconds=at_s)
        sent = self.start + timedelta(seconds=at_s if sent_s is None else sent_s)
        envelope: dict[str, Any] = {
            "schema_version": 1,
            "device_id": board,
            "boot": boot,
            "seq": seq,
            "measured_at": measured,
            "sent_at": sent,
            "replay": sent_s is not None and sent_s > at_s,
        }
        if kind == "state":
            message: Any = fp.StateMessage(**envelope, data=data)
            topic = fp.state_topic(board)
        else:
            message = fp.TELEMETRY_MODELS[fp.TelemetryKind(kind)](**envelope, data=data)
            topic = fp.telemetry_topic(board, kind)
        when = received_s if received_s is not None else (at_s if sent_s is None else sent_s)
        self.sent.append(Sent(when, len(self.sent), topic, message))

    def state(self, board: str, at_s: float, status: str, *, boot: int = 1, **more: Any) -> None:
        data = fp.StateData(status=status, heartbeat_interval_s=30, **more)  # type: ignore[arg-type]
        self._add(board, "state", data, at_s, boot=boot)

    def heartbeat(
        self, board: str, at_s: float, *, boot: int = 1, uptime_s: int | None = None, **more: Any
    ) -> None:
        data = fp.HeartbeatData(
            uptime_s=int(at_s) + 3600 if uptime_s is None else uptime_s,
            agent_version="0.1.0",
            cpu_percent=5,
            memory_percent=30,
            disk_percent=20,
            spool_pending=more.pop("spool_pending", 0),
        )
        self._add(board, "heartbeat", data, at_s, boot=boot, **more)

    def power(self, board: str, at_s: float, *, boot: int = 1, **reading: Any) -> None:
        mains = reading.pop("mains", True)
        data = fp.PowerData(
            source="ups",
            mains_present=mains,
            on_battery=not mains,
            battery_percent=reading.pop("battery", 100.0),
            runtime_s=reading.pop("runtime", 3600),
            low_battery=reading.pop("low", False),
        )
        self._add(board, "power", data, at_s, boot=boot, **reading)

    def network(
        self,
        board: str,
        at_s: float,
        *,
        boot: int = 1,
        signal: float = 70,
        loss: float = 0,
        link_up: bool = True,
        **more: Any,
    ) -> None:
        data = fp.NetworkData(
            interface="wwan0",
            link_up=link_up,
            target="fleet.example",
            rtt_ms=80 + loss * 10,
            loss_percent=loss,
            lte=fp.LteData(operator="Viettel", access_tech="LTE", signal_percent=signal),
        )
        self._add(board, "network", data, at_s, boot=boot, **more)

    def running(self, board: str, start_s: float, end_s: float, *, boot: int = 1) -> None:
        """A board at work: heartbeats, mains on, a good link every 30 s."""
        t = start_s
        while t <= end_s:
            self.heartbeat(board, t, boot=boot)
            self.network(board, t + 1, boot=boot)
            t += 30


class Replay:
    """Feeds a recording through ingest (classify, then its BatchWriter) at
    the receipt times, running an engine pass every ``tick_s``."""

    def __init__(self, url: str, clock: Clock, engine_conn: Conn) -> None:
        self.clock = clock
        self.start = clock()
        self.conn: Conn = psycopg.connect(url)
        self.writer = BatchWriter(self.conn)
        self.settings = Settings(database_url=url)
        self.engine = Engine(url, clock=clock)
        self.engine_conn = engine_conn
        self.done = 0
        #: ingest's own beats (pipeline_health), as ingest records them
        self.beats: list[tuple[float, float]] = []

    def close(self) -> None:
        self.conn.close()

    def until(self, recording: Recording, end_s: float, tick_s: float = 10) -> None:
        sent = sorted(recording.sent)
        t = (self.clock() - self.start).total_seconds()
        while t < end_s:
            t = min(end_s, t + tick_s)
            self.clock.set(self.start + timedelta(seconds=t))
            due = [s for s in sent[self.done :] if s.received_s <= t]
            for item in due:
                self._deliver(item)
            self.done += len(due)
            self._beat(t)
            self.engine.evaluate(self.engine_conn)

    def _deliver(self, item: Sent) -> None:
        received = self.start + timedelta(seconds=item.received_s)
        inbound = Inbound(item.topic, fp.encode(item.message), 0, 1, received.timestamp(), 0)
        outcome = classify(inbound, self.settings)
        assert isinstance(outcome, Accepted), outcome
        self.writer.write([outcome], [])

    def _beat(self, t: float) -> None:
        for start, end in self.beats:
            if start <= t <= end:
                at = self.start + timedelta(seconds=t)
                with self.conn.transaction():
                    pipeline_health.beat(self.conn, "ingest", "ingest-1", at, 10)
                    pipeline_health.beat(self.conn, "broker", "ingest-1", at, 10)


@pytest.fixture
def replay(seeded: str, clock: Clock, engine_conn: Conn) -> Any:
    r = Replay(seeded, clock, engine_conn)
    yield r
    r.close()


def incident_of(conn: Conn, board: str, rule: str = "board_lost") -> tuple[int, dict[str, Any]]:
    row = conn.execute(
        "SELECT id, details FROM incidents WHERE board_id = %s AND rule = %s ORDER BY id DESC",
        (board, rule),
    ).fetchone()
    assert row is not None, f"no {rule} incident for {board}"
    return row[0], row[1]


def causes(details: dict[str, Any]) -> list[tuple[str, str]]:
    return [(c["code"], c["confidence"]) for c in details["offline_cause"]["causes"]]


def keys(details: dict[str, Any], code: str | None = None) -> list[str]:
    found = details["offline_cause"]["causes"]
    cause = found[0] if code is None else next(c for c in found if c["code"] == code)
    return [line["key"] for line in cause["lines"]]


def history(conn: Conn, incident_id: int) -> list[tuple[str, str, str | None]]:
    return incidents_db.events(conn, incident_id)


def test_power_the_ups_ran_out(replay: Replay, clock: Clock, engine_conn: Conn) -> None:
    rec = Recording(clock())
    rec.state(C, 0, "online")
    rec.running(C, 0, 290)
    rec.power(C, 5)
    rec.power(C, 65, mains=False, battery=80, runtime=300)  # mains cut
    rec.power(C, 185, mains=False, battery=35, runtime=120)
    rec.power(C, 245, mains=False, battery=8, runtime=50, low=True)  # runs out at ~295 s
    rec.state(C, 340, "lost")  # the broker's keepalive ran out: the last will
    replay.until(rec, 350)
    incident, details = incident_of(engine_conn, C)
    assert causes(details)[0] == ("power", "high")
    assert keys(details)[:2] == ["mains_lost", "ups_low"]
    explanation = offline_verdict.from_json(details["offline_cause"])
    assert "UPS" in offline_words.headline(explanation, "en")
    assert offline_words.headline(explanation, "vi").startswith("Nguyên nhân có thể nhất: Nguồn")
    # the notice names it and its evidence, in the reader's language
    stored = incidents_db.get(engine_conn, incident)
    assert stored is not None
    notice = lifecycle.notice(engine_conn, stored, "incident_opened", clock())
    vi, en = render(notice, "vi").body_text, render(notice, "en").body_text
    assert "Nguyên nhân có thể nhất: Nguồn điện: mất điện lưới và UPS đã cạn pin" in vi
    assert "UPS báo pin yếu: pin 8 %" in vi
    assert "Most likely cause: Power: the mains failed and the UPS ran out (very likely)" in en
    assert "the UPS reported low battery: 8 %" in en


def test_mains_cut_but_ups_fine_is_not_power_then_the_replay_shows_the_link(
    replay: Replay, clock: Clock, engine_conn: Conn
) -> None:
    rec = Recording(clock())
    rec.state(C, 0, "online")
    rec.running(C, 0, 170)
    rec.power(C, 5)
    rec.power(C, 65, mains=False, battery=95, runtime=3000)  # on a healthy UPS
    rec.state(C, 230, "lost")
    # back at 900 on the same boot: its spool replays what it measured meanwhile
    rec.state(C, 900, "online")
    for t in range(200, 900, 60):
        rec.network(C, t, link_up=False, signal=0, loss=100, sent_s=905)
        rec.heartbeat(C, t + 2, sent_s=905, spool_pending=10)
    rec.heartbeat(C, 920, spool_pending=0)
    replay.until(rec, 240)
    incident, details = incident_of(engine_conn, C)
    assert [c for c, _ in causes(details)] == ["unknown"]  # honest: nothing points anywhere yet
    ruled_out = [line["key"] for line in details["offline_cause"]["ruled_out"]]
    assert "ups_fine" in ruled_out  # mains lost, but the UPS had 50 min left: not the power
    replay.until(rec, 930)
    _, details = incident_of(engine_conn, C)
    assert causes(details)[0] == ("uplink", "high")
    assert "gap_link_down" in keys(details)
    assert "power" not in [c for c, _ in causes(details)]
    assert details["offline_cause"]["revised_at"]
    notes = [
        n for kind, actor, n in history(engine_conn, incident) if actor == service_offline.ACTOR
    ]
    assert len(notes) == 1
    assert "revised after the board came back" in (notes[0] or "")
    assert "4G uplink" in (notes[0] or "")
    assert "was: Unknown" in (notes[0] or "")


def test_4g_signal_degraded_then_lost(replay: Replay, clock: Clock, engine_conn: Conn) -> None:
    rec = Recording(clock())
    rec.state(C, 0, "online")
    for i, t in enumerate(range(0, 300, 30)):
        rec.heartbeat(C, t)
        rec.power(C, t + 1)
        rec.network(C, t + 2, signal=80 - 7 * i, loss=4 * i)  # 80 % → 17 %, loss → 36 %
    rec.state(C, 340, "lost")
    replay.until(rec, 350)
    _, details = incident_of(engine_conn, C)
    assert causes(details)[0] == ("uplink", "high")
    assert keys(details) == ["signal_fell", "loss_rose"]
    ruled_out = [line["key"] for line in details["offline_cause"]["ruled_out"]]
    assert "mains_present" in ruled_out


def test_agent_crash_and_restart_by_its_boot_counter(
    replay: Replay, clock: Clock, engine_conn: Conn
) -> None:
    rec = Recording(clock())
    rec.state(C, 0, "online")
    rec.running(C, 0, 270)
    rec.power(C, 5)
    rec.state(C, 300, "lost")
    rec.state(C, 320, "online", boot=2)  # the agent is back on a new boot ...
    rec.heartbeat(C, 321, boot=2, uptime_s=86_000)  # ... on a controller up for a day
    replay.until(rec, 310)
    incident, details = incident_of(engine_conn, C)
    assert causes(details)[0][0] == "unknown"  # at the will, nothing says why yet
    replay.until(rec, 340)
    _, details = incident_of(engine_conn, C)
    assert causes(details)[0] == ("restart", "high")
    assert keys(details) == ["new_boot_agent", "mains_present"]
    assert any(
        "The agent or the board restarted" in (n or "")
        for _k, _a, n in history(engine_conn, incident)
    )


def test_clean_shutdown_is_no_incident_and_reads_shut_down_on_purpose(
    replay: Replay, clock: Clock, engine_conn: Conn
) -> None:
    rec = Recording(clock())
    rec.state(C, 0, "online")
    rec.running(C, 0, 120)
    rec.state(C, 130, "offline", reason="agent stopped")
    replay.until(rec, 200)
    assert engine_conn.execute("SELECT count(*) FROM incidents").fetchone() == (0,)
    status = statuses(engine_conn)[C]
    assert status.state == "offline"
    data = service_offline.explain_board(engine_conn, status, clock())
    explanation = offline_verdict.from_json(data)
    assert (explanation.top.code, explanation.top.confidence) == ("shutdown", "high")
    assert "agent stopped" in offline_words.line_text(explanation.top.lines[0], "en")
    assert offline_words.cause_words("shutdown", "vi") == "Bảng được tắt chủ động"


def test_the_whole_site_at_once(replay: Replay, clock: Clock, engine_conn: Conn) -> None:
    rec = Recording(clock())
    for board in (A, B):
        rec.state(board, 0, "online")
        rec.running(board, 0, 270)
        rec.power(board, 5)
        rec.power(board, 125, mains=False, battery=60, runtime=1500)
    rec.state(A, 300, "lost")
    rec.state(B, 302, "lost")
    replay.until(rec, 310)
    site = engine_conn.execute(
        "SELECT id, details FROM incidents WHERE rule = 'site_outage'"
    ).fetchone()
    assert site is not None
    assert causes(site[1])[0] == ("site_power", "high")
    assert sorted(site[1]["offline_cause"]["boards"]) == [A, B]
    _, board_details = incident_of(engine_conn, B)
    assert causes(board_details)[0] == ("site_power", "high")
    assert keys(board_details) == ["site_together", "site_mains_lost"]


def test_our_broker_and_ingest_down_not_the_boards(
    replay: Replay, clock: Clock, engine_conn: Conn
) -> None:
    rec = Recording(clock())
    for board in (C, D, E):  # three sites, each its own uplink
        rec.state(board, 0, "online")
        rec.running(board, 0, 290)
        # what they sent while our side was down reached us when it came back
        for t in range(300, 600, 30):
            rec.heartbeat(board, t, received_s=610)
        rec.heartbeat(board, 620)
    replay.beats = [(0, 300), (610, 10_000)]  # ingest and its broker link: down 300–610 s
    replay.until(rec, 420)
    _, details = incident_of(engine_conn, C, "board_stale")
    assert causes(details)[0] == ("platform", "high")
    assert keys(details)[:3] == ["platform_gap", "platform_gap", "fleet_silent"]
    words = offline_explanation(details["offline_cause"])
    assert words.summary["en"].startswith("Most likely cause: Our side")
    replay.until(rec, 640)
    _, details = incident_of(engine_conn, C, "board_stale")
    assert causes(details)[0] == ("platform", "high")
    assert "delivered_late" in keys(details)
    assert details["offline_cause"]["revised_at"]


def test_unknown_when_there_is_no_evidence(replay: Replay, clock: Clock, engine_conn: Conn) -> None:
    rec = Recording(clock())
    rec.state(C, 0, "online")
    for t in range(0, 300, 30):
        rec.heartbeat(C, t)
    rec.state(C, 330, "lost")
    replay.until(rec, 340)
    _, details = incident_of(engine_conn, C)
    assert causes(details) == [("unknown", "low")]
    assert keys(details) == ["no_power_readings", "no_network_readings", "will"]
    explanation = offline_verdict.from_json(details["offline_cause"])
    assert offline_words.headline(explanation, "en") == (
        "Most likely cause: Unknown: not enough evidence to say (possible)."
    )


def test_the_api_shows_the_cause_in_both_languages(
    replay: Replay, clock: Clock, engine_conn: Conn
) -> None:
    rec = Recording(clock())
    rec.state(C, 0, "online")
    rec.running(C, 0, 290)
    rec.power(C, 65, mains=False, battery=8, runtime=30, low=True)
    rec.state(C, 330, "lost")
    replay.until(rec, 340)
    _, details = incident_of(engine_conn, C)
    out = offline_explanation(details["offline_cause"])
    assert out.causes[0].code == "power"
    assert out.causes[0].text["vi"].startswith("Nguồn điện")
    assert out.causes[0].text["en"].startswith("Power")
    assert all(line.text["vi"] and line.text["en"] for line in out.causes[0].lines)
    assert out.revised_at is None


def test_platform_uptime_spans(seeded: str, clock: Clock) -> None:
    start = clock()
    with psycopg.connect(seeded) as conn:
        for t in (0, 10, 20, 100, 110):
            pipeline_health.beat(conn, "ingest", "i1", start + timedelta(seconds=t), 10)
        spans = pipeline_health.spans(conn, start, start + timedelta(seconds=200))
    assert [(s.up_from - start, s.up_to - start) for s in spans] == [
        (timedelta(0), timedelta(seconds=20)),
        (timedelta(seconds=100), timedelta(seconds=110)),
    ]
