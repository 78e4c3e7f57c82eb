"""Broadcast window rules on their own: order, overlap, the Điều 8.1 notes."""

from __future__ import annotations

from datetime import time

import pytest

from fleet_server.broadcast.models import Window, WindowError, check, notes, shortfalls


def w(part: str, start: str, end: str) -> Window:
    return Window(part, time.fromisoformat(start), time.fromisoformat(end))


def test_sorted_by_start_whatever_the_order_given() -> None:
    given = [w("evening", "19:00", "21:00"), w("morning", "06:00", "09:00")]
    assert [x.part for x in check(given)] == ["morning", "evening"]


def test_the_parts_are_names_not_hours() -> None:
    """Điều 8.1's morning/afternoon are names: a "morning" window may run
    into the afternoon as long as the windows do not overlap."""
    assert check([w("morning", "10:00", "13:30"), w("afternoon", "13:30", "17:00")])


def test_overlap_names_the_later_window() -> None:
    with pytest.raises(WindowError) as caught:
        check([w("afternoon", "08:00", "11:00"), w("morning", "06:00", "09:00")])
    assert caught.value.field == "windows.0.starts_at"
    assert "overlaps the morning window (06:00–09:00)" in caught.value.detail


def test_a_window_inside_another_overlaps() -> None:
    with pytest.raises(WindowError):
        check([w("morning", "06:00", "12:00"), w("evening", "07:00", "08:00")])


def test_notes_on_what_falls_short() -> None:
    assert notes([w("morning", "06:30", "09:30"), w("afternoon", "16:30", "19:30")]) == []
    assert shortfalls([w("morning", "07:00", "09:30")]) == [
        ("morning", 2.5),
        ("afternoon", None),
    ]
