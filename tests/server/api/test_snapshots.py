"""/api/v1 snapshots: a board's screen and camera pictures (latest and paged
history), one picture as JPEG, and asking a board for one — each permission
path: screens need board.read, cameras camera.read (the Border Guard sees
the cameras of the sites its unit guards, never a screen), everything scoped
to the caller's sites like a board read."""

from __future__ import annotations

import base64
from typing import Any

import psycopg
import pytest

import fleet_protocol as fp
from fleet_server.access.principal import Principal
from fleet_server.access.roles import CAPABILITIES
from fleet_server.errors import Forbidden
from fleet_server.snapshots import service as snapshots
from tests.server.engine.conftest import Store
from tests.support.clock import Clock

Conn = psycopg.Connection[Any]
AsFactory = Any

BOARD = "lc-ma-lu-thang-01"  # a border gate of bql-kkt, its cameras guarded by bdbp
DISTRICT_BOARD = "lc-phong-tho-01"  # ubnd-phong-tho


def jpeg(fill: int, size: int = 600) -> bytes:
    return b"\xff\xd8\xff" + bytes((fill + i) % 256 for i in range(size - 5)) + b"\xff\xd9"


def upload(
    store: Store,
    board: str,
    picture: bytes,
    *,
    source: str = "screen",
    camera_id: str | None = None,
    reason: str = "interval",
    phash: str = "0f0f0f0f0f0f0f0f",
) -> None:
    """One snapshot message through ingest's writer, taken at the clock's time."""
    now = store.board_now()
    message = fp.SnapshotMessage(
        schema_version=1,
        device_id=board,
        boot=1,
        seq=store._seq(board, 1),
        measured_at=now,
        sent_at=now,
        data=fp.SnapshotData(
            source=source,  # type: ignore[arg-type]
            camera_id=camera_id,
            reason=reason,  # type: ignore[arg-type]
            captured_at=now,
            width=480,
            height=270,
            phash=phash,
            jpeg=base64.b64encode(picture),
        ),
    )
    store.send(message, fp.snapshot_topic(board))


@pytest.fixture
def pictures(store: Store, clock: Clock) -> dict[str, bytes]:
    """Two screen pictures and one of camera gate on BOARD, one screen on the
    district's board; the second screen picture is the newest."""
    made = {
        "screen-1": jpeg(1),
        "gate": jpeg(2),
        "screen-2": jpeg(3),
        "district": jpeg(4),
    }
    upload(store, BOARD, made["screen-1"])
    clock.advance(60)
    upload(store, BOARD, made["gate"], source="camera", camera_id="gate", reason="incident")
    clock.advance(60)
    upload(store, BOARD, made["screen-2"], reason="command")
    upload(store, DISTRICT_BOARD, made["district"])
    return made


def ids(conn: Conn) -> dict[str, int]:
    """Snapshot ids by what they show."""
    rows = conn.execute("SELECT id, device_id, source, seq FROM snapshots ORDER BY id").fetchall()
    names = iter(["screen-1", "gate", "screen-2"])
    found: dict[str, int] = {}
    for snapshot_id, device, _source, _seq in rows:
        found["district" if device == DISTRICT_BOARD else next(names)] = snapshot_id
    return found


def test_latest_per_source_and_the_history_page_by_page(
    as_: AsFactory, pictures: dict[str, bytes], db_conn: Conn
) -> None:
    known = ids(db_conn)
    url = f"/api/v1/boards/{BOARD}/snapshots"
    body = as_("operator").get(url).json()
    assert [(s["source"], s["camera_id"], s["id"]) for s in body["latest"]] == [
        ("screen", None, known["screen-2"]),
        ("camera", "gate", known["gate"]),
    ]
    assert [s["id"] for s in body["items"]] == [known["screen-2"], known["gate"], known["screen-1"]]
    assert body["next_before"] is None
    first = body["items"][0]
    assert first["url"] == f"/api/v1/snapshots/{known['screen-2']}.jpg"
    assert (first["reason"], first["width"], first["bytes"]) == ("command", 480, 600)
    page = as_("operator").get(url, params={"limit": 2}).json()
    assert [s["id"] for s in page["items"]] == [known["screen-2"], known["gate"]]
    assert page["next_before"] == known["gate"]
    rest = as_("operator").get(url, params={"limit": 2, "before": page["next_before"]}).json()
    assert [s["id"] for s in rest["items"]] == [known["screen-1"]]
    assert rest["next_before"] is None
    only_gate = as_("operator").get(url, params={"camera_id": "gate"}).json()
    assert [s["id"] for s in only_gate["items"]] == [known["gate"]]
    screens = as_("operator").get(url, params={"source": "screen"}).json()
    assert [s["id"] for s in screens["items"]] == [known["screen-2"], known["screen-1"]]


def test_the_picture_is_served_as_a_jpeg_that_is_never_sniffed(
    as_: AsFactory, pictures: dict[str, bytes], db_conn: Conn
) -> None:
    known = ids(db_conn)
    response = as_("viewer").get(f"/api/v1/snapshots/{known['screen-2']}.jpg")
    assert response.status_code == 200
    assert response.content == pictures["screen-2"]
    assert response.headers["content-type"] == "image/jpeg"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["cache-control"] == "private, max-age=86400, immutable"
    assert as_("viewer").get("/api/v1/snapshots/999999.jpg").status_code == 404


def test_the_border_guard_sees_camera_pictures_only(
    as_: AsFactory, pictures: dict[str, bytes], db_conn: Conn
) -> None:
    known = ids(db_conn)
    guard = as_("guard")
    body = guard.get(f"/api/v1/boards/{BOARD}/snapshots").json()
    assert [s["id"] for s in body["latest"]] == [known["gate"]]
    assert [s["id"] for s in body["items"]] == [known["gate"]]
    assert guard.get(f"/api/v1/snapshots/{known['gate']}.jpg").content == pictures["gate"]
    # a screen is not the Border Guard's: as if it did not exist
    assert guard.get(f"/api/v1/snapshots/{known['screen-2']}.jpg").status_code == 404
    refused = guard.get(f"/api/v1/boards/{BOARD}/snapshots", params={"source": "screen"})
    assert refused.status_code == 403
    # a board whose cameras bdbp does not guard
    assert guard.get(f"/api/v1/boards/{DISTRICT_BOARD}/snapshots").status_code == 404
    assert guard.get(f"/api/v1/snapshots/{known['district']}.jpg").status_code == 404


def test_other_organisations_pictures_do_not_exist_for_the_caller(
    as_: AsFactory, pictures: dict[str, bytes], db_conn: Conn
) -> None:
    known = ids(db_conn)
    for role in ("operator", "viewer", "technician"):
        assert as_(role).get(f"/api/v1/boards/{DISTRICT_BOARD}/snapshots").status_code == 404
        assert as_(role).get(f"/api/v1/snapshots/{known['district']}.jpg").status_code == 404
    district = as_("district")
    assert district.get(f"/api/v1/boards/{BOARD}/snapshots").status_code == 404
    assert district.get(f"/api/v1/snapshots/{known['gate']}.jpg").status_code == 404
    mine = district.get(f"/api/v1/snapshots/{known['district']}.jpg")
    assert mine.content == pictures["district"]
    # province-wide readers see every board
    for role in ("admin", "province"):
        body = as_(role).get(f"/api/v1/boards/{DISTRICT_BOARD}/snapshots").json()
        assert [s["id"] for s in body["items"]] == [known["district"]]
    assert as_("operator").get("/api/v1/boards/lc-nowhere-01/snapshots").status_code == 404


def _commands(conn: Conn) -> list[tuple[Any, ...]]:
    return conn.execute(
        "SELECT board_id, command, args, note, created_by FROM board_commands ORDER BY id"
    ).fetchall()


def _audit(conn: Conn) -> list[tuple[Any, ...]]:
    return conn.execute(
        "SELECT actor, target_id, after FROM audit_log WHERE action = 'command.send' ORDER BY id"
    ).fetchall()


def test_asking_a_board_for_a_picture(as_: AsFactory, db_conn: Conn, clock: Clock) -> None:
    url = f"/api/v1/boards/{BOARD}/screenshot"
    for role in ("viewer", "technician", "guard", "province"):
        refused = as_(role).post(url, json={})
        assert refused.status_code == 403, role
    assert (
        as_("operator").post(f"/api/v1/boards/{DISTRICT_BOARD}/screenshot", json={}).status_code
        == 404
    )
    for body, field in (
        ({"source": "screen", "camera_id": "gate"}, "camera_id"),
        ({"source": "camera", "camera_id": "bad id!"}, "camera_id"),
        ({"source": "projector"}, "source"),
    ):
        bad = as_("operator").post(url, json=body)
        assert bad.status_code == 422, body
        assert field in bad.text
    assert _commands(db_conn) == []
    sent = as_("operator").post(url, json={"note": "xem màn hình"})
    assert sent.status_code == 202, sent.text
    command = sent.json()
    assert sent.headers["location"] == f"/api/v1/commands/{command['request_id']}"
    assert (command["command"], command["args"]) == ("screenshot", {"source": "screen"})
    assert command["expires_at"] > command["created_at"]
    camera = as_("admin").post(url, json={"source": "camera", "camera_id": "gate"})
    assert camera.status_code == 202, camera.text
    assert _commands(db_conn) == [
        (BOARD, "screenshot", {"source": "screen"}, "xem màn hình", "van.hanh"),
        (BOARD, "screenshot", {"source": "camera", "camera_id": "gate"}, None, "quan.tri"),
    ]
    audit = _audit(db_conn)
    assert [(a[0], a[1], a[2]["command"], a[2]["request_id"]) for a in audit] == [
        ("van.hanh", BOARD, "screenshot", command["request_id"]),
        ("quan.tri", BOARD, "screenshot", camera.json()["request_id"]),
    ]
    # a disabled board cannot be reached
    db_conn.execute("UPDATE boards SET enabled = false WHERE id = %s", (BOARD,))
    assert as_("operator").post(url, json={}).status_code == 409
    assert command["created_at"] == clock.now.isoformat().replace("+00:00", "Z")


def _principal(role: str, organisation: str | None, conn: Conn) -> Principal:
    org = None
    if organisation is not None:
        org = conn.execute(
            "SELECT id FROM organisations WHERE code = %s", (organisation,)
        ).fetchone()
    return Principal(
        user_id=99,
        username=f"test.{role}",
        full_name=role,
        role=role,
        organisation_id=org[0] if org else None,
        team=None,
        language="vi",
        province_wide=organisation is None,
        capabilities=CAPABILITIES[role],
    )


def test_newest_pictures_of_many_boards_in_one_call_within_the_callers_scope(
    pictures: dict[str, bytes], db_conn: Conn
) -> None:
    known = ids(db_conn)
    boards = [BOARD, DISTRICT_BOARD, "lc-nowhere-01"]
    admin = _principal("admin", None, db_conn)
    screens = snapshots.newest_pictures(db_conn, admin, boards, "screen")
    assert {(p.board_id, p.id) for p in screens} == {
        (BOARD, known["screen-2"]),
        (DISTRICT_BOARD, known["district"]),
    }
    cameras = snapshots.newest_pictures(db_conn, admin, boards, "camera")
    assert [(p.board_id, p.camera_id, p.id) for p in cameras] == [(BOARD, "gate", known["gate"])]
    # another organisation's board is left out, not an error
    operator = _principal("operator", "bql-kkt", db_conn)
    assert [p.board_id for p in snapshots.newest_pictures(db_conn, operator, boards, "screen")] == [
        BOARD
    ]
    assert snapshots.newest_pictures(db_conn, operator, [], "screen") == []
    # a role without camera.read may not ask for camera pictures
    with pytest.raises(Forbidden):
        snapshots.newest_pictures(db_conn, _principal("supplier", None, db_conn), boards, "camera")
