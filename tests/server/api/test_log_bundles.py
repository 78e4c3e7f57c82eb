"""/api/v1 logs and diagnostics: asking a board for them (collect_logs), the
list of its bundles, one bundle unpacked — each permission path (asking:
command.send; reading: diagnostics.read, never the Border Guard nor viewers),
the scope, the audit of every reading, and the bounds of the request."""

from __future__ import annotations

import base64
import json
import threading
from datetime import timedelta
from typing import Any

import psycopg
import pytest

import fleet_protocol as fp
from fleet_protocol.logs import gzip_text
from tests.server.api.conftest import audit_actions
from tests.server.engine.conftest import Store
from tests.support.clock import Clock

Conn = psycopg.Connection[Any]
AsFactory = Any

BOARD = "lc-ma-lu-thang-01"  # bql-kkt's
DISTRICT_BOARD = "lc-phong-tho-01"  # ubnd-phong-tho's
JOURNAL = "2026-03-02T09:14:40 agent: connected\n2026-03-02T09:14:41 player: playing news\n"
REPORT = {"agent": {"version": "1.4.0"}, "config": {"cameras": [{"password": "***"}]}}


def upload(store: Store, board: str, kind: str, text: str, request_id: str = "cmd-1") -> None:
    """One log bundle through ingest's writer."""
    now = store.board_now()
    message = fp.LogBundleMessage(
        schema_version=1,
        device_id=board,
        boot=1,
        seq=store._seq(board, 1),
        measured_at=now,
        sent_at=now,
        data=fp.LogBundleData(
            request_id=request_id,
            kind=kind,  # type: ignore[arg-type]
            captured_at=now,
            since=now - timedelta(hours=1) if kind == "journal" else None,
            lines=text.count("\n") if kind == "journal" else 0,
            original_bytes=len(text.encode()),
            body=base64.b64encode(gzip_text(text.encode())),
        ),
    )
    store.send(message, fp.logs_topic(board))


def reads(conn: Conn, since_id: int) -> list[tuple[str, str]]:
    return [a for a in audit_actions(conn, since_id) if a[1] != "login"]


@pytest.fixture
def bundles(store: Store, clock: Clock, db_conn: Conn) -> dict[str, int]:
    upload(store, BOARD, "journal", JOURNAL)
    clock.advance(5)
    upload(store, BOARD, "diagnostics", json.dumps(REPORT))
    upload(store, DISTRICT_BOARD, "journal", "district\n")
    rows = db_conn.execute("SELECT id, device_id, kind FROM log_bundles ORDER BY id").fetchall()
    return {("district" if r[1] == DISTRICT_BOARD else str(r[2])): int(r[0]) for r in rows}


def test_the_list_newest_first_and_page_by_page(as_: AsFactory, bundles: dict[str, int]) -> None:
    url = f"/api/v1/boards/{BOARD}/logs"
    body = as_("technician").get(url).json()
    assert [b["id"] for b in body["items"]] == [bundles["diagnostics"], bundles["journal"]]
    journal = body["items"][1]
    assert (journal["kind"], journal["lines"], journal["truncated"]) == ("journal", 2, False)
    assert journal["url"] == f"/api/v1/logs/{bundles['journal']}"
    assert journal["original_bytes"] == len(JOURNAL)
    assert journal["since"] is not None
    page = as_("operator").get(url, params={"limit": 1}).json()
    assert (len(page["items"]), page["next_before"]) == (1, bundles["diagnostics"])
    rest = as_("operator").get(url, params={"before": page["next_before"]}).json()
    assert [b["id"] for b in rest["items"]] == [bundles["journal"]]
    assert as_("operator").get(f"/api/v1/boards/{DISTRICT_BOARD}/logs").status_code == 404


def test_a_bundle_is_served_unpacked_and_every_reading_audited(
    as_: AsFactory, bundles: dict[str, int], db_conn: Conn
) -> None:
    start = int(db_conn.execute("SELECT coalesce(max(id), 0) FROM audit_log").fetchone()[0])  # type: ignore[index]
    text = as_("technician").get(f"/api/v1/logs/{bundles['journal']}")
    assert text.status_code == 200
    assert text.text == JOURNAL
    assert text.headers["content-type"] == "text/plain; charset=utf-8"
    assert text.headers["x-content-type-options"] == "nosniff"
    assert text.headers["cache-control"] == "no-store"
    report = as_("admin").get(f"/api/v1/logs/{bundles['diagnostics']}")
    assert (report.headers["content-type"], report.json()) == ("application/json", REPORT)
    assert reads(db_conn, start) == [
        ("ky.thuat", "diagnostics.read"),
        ("quan.tri", "diagnostics.read"),
    ]
    after = db_conn.execute(
        "SELECT target_id, after FROM audit_log WHERE id > %s AND action = 'diagnostics.read'"
        " ORDER BY id LIMIT 1",
        (start,),
    ).fetchone()
    assert after is not None
    assert (after[0], after[1]["bundle_id"], after[1]["kind"]) == (
        BOARD,
        bundles["journal"],
        "journal",
    )
    # another organisation's bundle, or none: the same 404, and nothing audited
    assert as_("operator").get(f"/api/v1/logs/{bundles['district']}").status_code == 404
    assert as_("operator").get("/api/v1/logs/999999").status_code == 404
    assert len(reads(db_conn, start)) == 2


@pytest.mark.parametrize("role", ["guard", "viewer", "province"])
def test_the_border_guard_and_viewers_never_read_logs(
    as_: AsFactory, bundles: dict[str, int], role: str
) -> None:
    assert as_(role).get(f"/api/v1/boards/{BOARD}/logs").status_code == 403
    assert as_(role).get(f"/api/v1/logs/{bundles['journal']}").status_code == 403


def test_asking_a_board_for_its_logs(as_: AsFactory, db_conn: Conn) -> None:
    url = f"/api/v1/boards/{BOARD}/collect-logs"
    for role in ("viewer", "technician", "guard", "province"):
        assert as_(role).post(url, json={}).status_code == 403, role
    assert (
        as_("operator").post(f"/api/v1/boards/{DISTRICT_BOARD}/collect-logs", json={}).status_code
        == 404
    )
    for body, field in (
        ({"minutes": 0}, "minutes"),
        ({"minutes": 1441}, "minutes"),
        ({"lines": 5001}, "lines"),
        ({"include": []}, "include"),
        ({"include": ["coredump"]}, "include"),
        ({"include": ["journal", "journal"]}, "include"),
        ({"since": "yesterday"}, "since"),
    ):
        bad = as_("operator").post(url, json=body)
        assert bad.status_code == 422, body
        assert field in bad.text
    assert db_conn.execute("SELECT count(*) FROM board_commands").fetchone() == (0,)
    sent = as_("operator").post(url, json={"minutes": 30, "include": ["journal"], "note": "treo"})
    assert sent.status_code == 202, sent.text
    command = sent.json()
    assert sent.headers["location"] == f"/api/v1/commands/{command['request_id']}"
    assert (command["command"], command["args"]) == (
        "collect_logs",
        {"minutes": 30, "lines": 1000, "include": ["journal"]},
    )
    audited = db_conn.execute(
        "SELECT actor, target_id, after->>'command' FROM audit_log WHERE action = 'command.send'"
    ).fetchall()
    assert audited == [("van.hanh", BOARD, "collect_logs")]
    # the generic commands route takes it too, checked the same way
    generic = as_("admin").post(
        f"/api/v1/boards/{BOARD}/commands", json={"command": "collect_logs", "args": {"lines": 0}}
    )
    assert generic.status_code == 422


def test_one_collect_logs_at_a_time_per_board(as_: AsFactory, db_conn: Conn, clock: Clock) -> None:
    url = f"/api/v1/boards/{BOARD}/collect-logs"
    start = threading.Barrier(2)
    answers: list[Any] = []

    def ask() -> None:
        start.wait()
        answers.append(as_("operator").post(url, json={}))

    threads = [threading.Thread(target=ask) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    # two at once: one goes, the other is told which one is pending
    assert sorted(a.status_code for a in answers) == [202, 409], [a.text for a in answers]
    first = next(a for a in answers if a.status_code == 202)
    pending = first.json()["request_id"]
    generic = f"/api/v1/boards/{BOARD}/commands"
    for again in (
        as_("admin").post(url, json={"lines": 10}),
        as_("admin").post(generic, json={"command": "collect_logs", "args": {}}),
    ):
        assert again.status_code == 409, again.text
        assert again.json()["pending_request_id"] == pending
        assert pending in again.json()["detail"]
    assert as_("admin").post(generic, json={"command": "ping", "args": {}}).status_code == 202

    def asked() -> int:
        row = db_conn.execute(
            "SELECT count(*) FROM board_commands WHERE command = 'collect_logs'"
        ).fetchone()
        return int(row[0]) if row else 0

    assert asked() == 1
    # the board answered: the next request goes
    db_conn.execute(
        "UPDATE board_commands SET state = 'succeeded', result_status = 'ok',"
        " finished_at = now() WHERE request_id = %s",
        (pending,),
    )
    second = as_("operator").post(url, json={})
    assert second.status_code == 202, second.text
    assert as_("operator").post(url, json={}).status_code == 409
    clock.advance(301)  # expired without an answer (FLEET_COMMAND_EXPIRES_S, 300)
    assert as_("operator").post(url, json={}).status_code == 202
    assert asked() == 3
