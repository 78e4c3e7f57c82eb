"""Per-item play records: the agent reports each play that ended."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import fleet_protocol as fp
from edge_agent.agent import Agent
from edge_agent.config import load_config
from edge_agent.plays import PlayTracker
from tests.agent.conftest import FakeCollector, fake_collectors

T0 = datetime(2026, 11, 20, 0, 0, tzinfo=UTC)
A, B = "a" * 64, "b" * 64


def shown(sha: str | None, started: datetime | None = None, **kw: object) -> fp.DisplayData:
    return fp.DisplayData(
        player_running=kw.pop("player_running", True),  # type: ignore[arg-type]
        screen_on=kw.pop("screen_on", True),  # type: ignore[arg-type]
        content_sha256=sha,
        content_id=f"item-{sha[:2]}" if sha else None,
        content_kind="advertising" if sha == B else "propaganda" if sha else None,
        content_language="vi" if sha else None,
        content_started_at=started,
    )


def test_a_new_file_ends_the_play_at_its_own_start() -> None:
    tracker = PlayTracker()
    assert tracker.observe(shown(A, T0), T0 + timedelta(seconds=5)) is None
    assert tracker.observe(shown(A, T0), T0 + timedelta(seconds=35)) is None
    finished = tracker.observe(shown(B, T0 + timedelta(seconds=50)), T0 + timedelta(seconds=65))
    assert finished == {
        "content_sha256": A,
        "content_id": "item-aa",
        "content_kind": "propaganda",
        "content_language": "vi",
        "started_at": T0.isoformat(),
        "ended_at": (T0 + timedelta(seconds=50)).isoformat(),
    }


def test_the_same_file_again_is_a_new_play() -> None:
    tracker = PlayTracker()
    tracker.observe(shown(A, T0), T0)
    finished = tracker.observe(shown(A, T0 + timedelta(minutes=10)), T0 + timedelta(minutes=10))
    assert finished is not None
    assert finished["ended_at"] == (T0 + timedelta(minutes=10)).isoformat()


def test_screen_off_or_player_stopped_ends_it_when_seen() -> None:
    for off in (shown(A, T0, screen_on=False), shown(None, player_running=False)):
        tracker = PlayTracker()
        tracker.observe(shown(A, T0), T0)
        finished = tracker.observe(off, T0 + timedelta(minutes=3))
        assert finished is not None
        assert finished["ended_at"] == (T0 + timedelta(minutes=3)).isoformat()
        assert tracker.observe(off, T0 + timedelta(minutes=4)) is None


def test_without_a_reported_start_the_first_sighting_counts() -> None:
    tracker = PlayTracker()
    tracker.observe(shown(A), T0)
    finished = tracker.observe(shown(B), T0 + timedelta(minutes=1))
    assert finished is not None
    assert finished["started_at"] == T0.isoformat()


def test_the_agent_spools_a_content_played_event(tmp_path: Path) -> None:
    readings = iter([shown(A, T0), shown(B, T0 + timedelta(minutes=5))])
    collectors = fake_collectors()
    collectors[fp.TelemetryKind.DISPLAY] = FakeCollector(
        fp.TelemetryKind.DISPLAY, lambda: next(readings)
    )
    config = load_config(
        None, device_id="lc-mlt-01", spool_path=tmp_path / "spool.db", mqtt_url="mqtt://127.0.0.1:9"
    )
    clock = iter([T0.timestamp() + 400 + s for s in range(100)])  # after both starts
    agent = Agent(config, collectors=collectors, clock=lambda: next(clock))
    assert agent.collect(fp.TelemetryKind.DISPLAY)
    assert agent.collect(fp.TelemetryKind.DISPLAY)
    events = [
        fp.decode(r.topic, r.payload)
        for r in agent.spool.pending(limit=100)
        if r.topic.endswith("/event/content_played")
    ]
    assert len(events) == 1
    details = events[0].data.details  # type: ignore[union-attr]
    assert (details["content_sha256"], details["ended_at"]) == (
        A,
        (T0 + timedelta(minutes=5)).isoformat(),
    )


def test_a_content_id_with_credentials_is_left_out() -> None:
    tracker = PlayTracker()
    secret = fp.DisplayData(
        player_running=True,
        content_sha256=A,
        content_id="rtsp://admin:pw@10.0.0.5/live",
        content_started_at=T0,
    )
    tracker.observe(secret, T0)
    finished = tracker.observe(shown(B, T0 + timedelta(minutes=1)), T0 + timedelta(minutes=1))
    assert finished is not None
    assert finished["content_id"] is None
    event = fp.EventData(type="content_played", message="played x", details=finished)
    assert "admin" not in event.model_dump_json()
