"""The audit log through the API (admins only): filters, sort, paging, the
CSV export, and proof that nobody can rewrite it."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient

from tests.server.api.conftest import ACCOUNTS

URL = "/api/v1/audit-log"
T0 = datetime(2026, 3, 1, 1, 30, tzinfo=UTC)


def add(conn: Any, at: datetime, actor: str, action: str, **extra: Any) -> int:
    row = conn.execute(
        "INSERT INTO audit_log (at, actor, action, target_type, target_id, address, before,"
        " after, detail) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s) RETURNING id",
        (
            at,
            actor,
            action,
            extra.get("target_type"),
            extra.get("target_id"),
            extra.get("address"),
            extra.get("before"),
            extra.get("after"),
            extra.get("detail"),
        ),
    ).fetchone()
    return int(row[0])


@pytest.fixture
def history(db_conn: Any) -> dict[str, int]:
    """A few entries at known times (logins of the test itself come later)."""
    return {
        "create": add(
            db_conn,
            T0,
            "van.hanh",
            "ticket.create",
            target_type="ticket",
            target_id="7",
            address="10.1.2.3",
            after='{"title": "Màn hình tắt"}',
        ),
        "assign": add(
            db_conn,
            T0 + timedelta(hours=1),
            "van.hanh",
            "ticket.assign",
            target_type="ticket",
            target_id="7",
            address="10.1.2.3",
            before='{"assignee": null}',
            after='{"assignee": "ky.thuat"}',
        ),
        "comment": add(
            db_conn,
            T0 + timedelta(hours=2),
            "ky.thuat",
            "ticket.comment",
            target_type="ticket",
            target_id="8",
            address="192.168.5.9",
            detail="Đã thay ắc quy, bảng sáng lại",
        ),
        "failed": add(
            db_conn,
            T0 + timedelta(hours=3),
            '=HYPERLINK("http://evil")',
            "login_failed",
            address="203.0.113.7",
            detail="unknown user",
        ),
    }


def test_only_admins_read_the_log(as_: Any, history: dict[str, int]) -> None:
    for key in ACCOUNTS:
        if key == "admin":
            continue
        assert as_(key).get(URL).status_code == 403, key
        refused = as_(key).get(f"{URL}.csv")
        assert refused.status_code == 403, key
        assert refused.headers["content-type"].startswith("application/problem+json")
    page = as_("admin").get(URL)
    assert page.status_code == 200
    # newest first: the logins of this test, then the history
    items = page.json()["items"]
    assert [i["action"] for i in items[:6]] == ["login"] * 6
    assert items[-1]["id"] == history["create"]


def test_filters_sort_and_paging(as_: Any, history: dict[str, int]) -> None:
    def ids(**params: Any) -> list[int]:
        params.setdefault("until", (T0 + timedelta(days=1)).isoformat())
        response = as_("admin").get(URL, params=params)
        assert response.status_code == 200, response.text
        return [i["id"] for i in response.json()["items"]]

    h = history
    assert ids() == [h["failed"], h["comment"], h["assign"], h["create"]]
    assert ids(sort="at") == [h["create"], h["assign"], h["comment"], h["failed"]]
    assert ids(sort="actor")[0] == h["failed"]  # '=' sorts before letters
    assert ids(actor="van.hanh") == [h["assign"], h["create"]]
    assert ids(action="ticket.") == [h["comment"], h["assign"], h["create"]]
    assert ids(action="login") == [h["failed"]]
    assert ids(action="ticket_") == []  # '_' is no wildcard
    assert ids(target_type="ticket", target_id="7") == [h["assign"], h["create"]]
    assert ids(address="10.1.2.3") == [h["assign"], h["create"]]
    assert ids(address="192.168.0.0/16") == [h["comment"]]
    assert ids(
        since=(T0 + timedelta(hours=1)).isoformat(), until=(T0 + timedelta(hours=2)).isoformat()
    ) == [h["assign"]]
    since_local = "2026-03-01T09:30:00+07:00"  # the same instant as T0 + 1 h
    assert ids(since=since_local) == [h["failed"], h["comment"], h["assign"]]
    page = (
        as_("admin")
        .get(URL, params={"until": (T0 + timedelta(days=1)).isoformat(), "limit": 2, "offset": 2})
        .json()
    )
    assert (page["total"], [i["id"] for i in page["items"]]) == (4, [h["assign"], h["create"]])
    entry = as_("admin").get(URL, params={"action": "ticket.assign"}).json()["items"][0]
    assert entry["before"] == {"assignee": None}
    assert entry["after"] == {"assignee": "ky.thuat"}
    assert entry["address"] == "10.1.2.3"

    def problem(status: int, **params: Any) -> str:
        response = as_("admin").get(URL, params=params)
        assert response.status_code == status, response.text
        assert response.headers["content-type"].startswith("application/problem+json")
        return str(response.json()["detail"])

    assert problem(400, sort="detail").startswith("cannot sort by 'detail'")
    assert (
        problem(400, address="not-an-ip") == "address: 'not-an-ip' is not an IP address or network"
    )
    assert problem(400, since=T0.isoformat(), until=T0.isoformat()) == "since: must be before until"
    assert problem(422, since="2026-03-01T00:00:00") == (
        "query.since: Input should have timezone info"
    )
    assert problem(422, limit=100_000).startswith("query.limit")


def test_csv_export(as_: Any, client: TestClient, db_conn: Any, history: dict[str, int]) -> None:
    response = as_("admin").get(
        f"{URL}.csv", params={"until": (T0 + timedelta(days=1)).isoformat(), "sort": "at"}
    )
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert response.headers["content-disposition"].startswith('attachment; filename="audit-log-')
    raw = response.content
    assert raw.startswith(b"\xef\xbb\xbf")  # BOM: Excel reads UTF-8
    rows = list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"))))
    assert list(rows[0]) == [
        "id",
        "at",
        "at_local",
        "actor",
        "actor_user_id",
        "action",
        "target_type",
        "target_id",
        "address",
        "detail",
        "before",
        "after",
    ]
    assert [int(r["id"]) for r in rows] == [
        history["create"],
        history["assign"],
        history["comment"],
        history["failed"],
    ]
    assert rows[0]["at_local"] == "2026-03-01 08:30:00"
    assert rows[0]["after"] == '{"title": "Màn hình tắt"}'
    assert rows[2]["detail"] == "Đã thay ắc quy, bảng sáng lại"
    assert rows[3]["actor"] == '\'=HYPERLINK("http://evil")'  # never a formula
    assert rows[1]["before"] == '{"assignee": null}'
    filtered = as_("admin").get(f"{URL}.csv", params={"actor": "ky.thuat"})
    lines = filtered.content.decode("utf-8-sig").splitlines()
    assert len(lines) == 2
    assert "ticket.comment" in lines[1]
    assert as_("admin").get(f"{URL}.csv", params={"sort": "nope"}).status_code == 400
    assert as_("admin").get(f"{URL}.csv", params={"address": "x"}).status_code == 400
    exports = db_conn.execute(
        "SELECT actor, detail FROM audit_log WHERE action = 'audit.export' ORDER BY id"
    ).fetchall()
    assert [e[0] for e in exports] == ["quan.tri", "quan.tri"]
    assert '"actor": "ky.thuat"' in exports[1][1]


def test_the_log_is_append_only(api_db: str, history: dict[str, int]) -> None:
    """The application's own database role cannot rewrite history."""
    with psycopg.connect(api_db, autocommit=True) as conn:
        for statement in (
            "UPDATE audit_log SET actor = 'someone.else'",
            f"DELETE FROM audit_log WHERE id = {history['create']}",
            "TRUNCATE audit_log",
        ):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute(statement)
        count = conn.execute("SELECT count(*) FROM audit_log").fetchone()
        assert count is not None
        assert count[0] == 4
