"""SQL of the players' own play records: ``content_played`` events into the
play log (split at local midnight, replacing what the display samples made
of the same play)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fleet_server.compliance.models import day_bounds, local_day
from fleet_server.compliance.storage import Conn

PLAYED_EVENT = "content_played"
_KINDS = ("propaganda", "advertising", "emergency")


def player_records(conn: Conn, after: datetime | None, upto: datetime) -> tuple[int, list[str]]:
    """Upsert the players' own play records (``content_played`` events stored
    in (after, upto]) into the play log. Returns (rows kept, problems): a
    record that does not make sense is named and skipped, never fatal; the
    event itself stays in board_events."""
    rows = conn.execute(
        "SELECT device_id, seq, details FROM board_events"
        " WHERE type = %s AND stored_at > %s AND stored_at <= %s",
        (PLAYED_EVENT, after or datetime.min.replace(tzinfo=upto.tzinfo), upto),
    ).fetchall()
    good: list[tuple[Any, ...]] = []
    problems: list[str] = []
    for device_id, seq, details in rows:
        record, problem = _play_record(details)
        if problem:
            problems.append(f"{device_id} event seq {seq}: {problem}")
            continue
        sha, started, ended, *rest = record
        # split at local midnight, as the display-derived rows are
        good.extend(
            (device_id, sha, start, end, *rest) for start, end in _local_days(started, ended)
        )
    if good:
        with conn.cursor() as cur:
            # the player's record replaces what the display samples made of it
            cur.executemany(
                "DELETE FROM play_log WHERE device_id = %s AND content_sha256 = %s"
                " AND source = 'display' AND started_at < %s AND ended_at > %s",
                [(device, sha, end, start) for device, sha, start, end, *_ in good],
            )
            cur.executemany(
                "INSERT INTO play_log AS p (device_id, content_sha256, started_at, ended_at,"
                " content_id, content_kind, content_language, source, updated_at)"
                " VALUES (%s, %s, %s, %s, %s, %s, %s, 'player', now())"
                " ON CONFLICT (device_id, started_at, content_sha256) DO UPDATE SET"
                " ended_at = GREATEST(p.ended_at, EXCLUDED.ended_at), source = 'player',"
                " content_id = COALESCE(EXCLUDED.content_id, p.content_id),"
                " content_kind = COALESCE(EXCLUDED.content_kind, p.content_kind),"
                " content_language = COALESCE(EXCLUDED.content_language, p.content_language),"
                " updated_at = now()",
                good,
            )
    return len(good), problems


def _local_days(start: datetime, end: datetime) -> list[tuple[datetime, datetime]]:
    """[start, end) cut at each local midnight (Asia/Ho_Chi_Minh)."""
    parts = []
    while True:
        midnight = day_bounds(local_day(start))[1]
        if end <= midnight:
            parts.append((start, end))
            return parts
        parts.append((start, midnight))
        start = midnight


def _play_record(details: Any) -> tuple[tuple[Any, ...], str | None]:  # noqa: PLR0911
    if not isinstance(details, dict):
        return (), "details are not an object"
    sha = str(details.get("content_sha256") or "").lower()
    if len(sha) != 64 or any(c not in "0123456789abcdef" for c in sha):
        return (), "content_sha256 is not 64 hex digits"
    try:
        started = datetime.fromisoformat(str(details.get("started_at")))
        ended = datetime.fromisoformat(str(details.get("ended_at")))
    except ValueError:
        return (), "started_at/ended_at are not ISO 8601 times"
    if started.tzinfo is None or ended.tzinfo is None:
        return (), "started_at/ended_at have no time zone"
    if ended < started:
        return (), "ended_at is before started_at"
    kind = details.get("content_kind")
    if kind is not None and kind not in _KINDS:
        return (), f"content_kind {kind!r} is not one of {', '.join(_KINDS)}"
    content_id = details.get("content_id")
    language = details.get("content_language")
    return (
        sha,
        started,
        ended,
        None if content_id is None else str(content_id)[:128],
        kind,
        None if language is None else str(language)[:16],
    ), None
