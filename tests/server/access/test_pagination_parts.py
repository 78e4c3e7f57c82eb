"""The parts every list's SQL is built from: ranges, capped counts and the
first rows of several ordered statements."""

from __future__ import annotations

from typing import Any

from fleet_server.access.pagination import (
    COUNT_CAP,
    add_range,
    capped,
    capped_count_sql,
    first_rows,
)


def test_a_range_adds_only_the_bounds_given() -> None:
    where: list[str] = []
    params: list[Any] = []
    add_range(where, params, "i.opened_at", None, None)
    assert (where, params) == ([], [])
    add_range(where, params, "i.opened_at", 1, None)
    add_range(where, params, "at", None, 9)
    add_range(where, params, "at", 2, 3)
    assert where == ["i.opened_at >= %s", "at < %s", "at >= %s", "at < %s"]
    assert params == [1, 9, 2, 3]


def test_a_count_read_one_past_the_cap_says_there_are_more() -> None:
    assert capped(0) == (0, False)
    assert capped(COUNT_CAP) == (COUNT_CAP, False)
    assert capped(COUNT_CAP + 1) == (COUNT_CAP, True)
    assert capped(7, cap=5) == (5, True)
    assert capped_count_sql("FROM t WHERE x = %s") == (
        "SELECT count(*) FROM (SELECT 1 FROM t WHERE x = %s LIMIT %s) c"
    )


def test_one_part_is_its_own_statement() -> None:
    assert first_rows([("SELECT a FROM t LIMIT %s", (1, 5))], "a", 5) == (
        "SELECT a FROM t LIMIT %s",
        [1, 5],
    )


def test_several_parts_are_joined_and_ordered_again() -> None:
    sql, params = first_rows(
        [("SELECT a FROM t WHERE b LIMIT %s", [4]), ("SELECT a FROM u LIMIT %s", [4])],
        "a DESC",
        4,
    )
    assert sql == (
        "SELECT u.* FROM ((SELECT a FROM t WHERE b LIMIT %s) UNION ALL"
        " (SELECT a FROM u LIMIT %s)) u ORDER BY a DESC LIMIT %s"
    )
    assert params == [4, 4, 4]
