"""/api/v1/releases and /api/v1/rollouts: publishing (signature and artifact
checked), downloading with HTTP Range and no account, rollouts created,
read, paused, resumed and aborted, every refusal naming its field, audit
rows, and every role but admin refused."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.server.releases.support import SigningKey, write_release

Conn = Any
FILES = "/api/v1/releases/files"


def _publish(admin: Any, key: SigningKey, tmp: Path, version: str, **kw: Any) -> Any:
    manifest, artifact = write_release(key, tmp / version, version, kw.pop("artifact", None))
    body = kw.pop("manifest", manifest.read_bytes())
    return admin.post(
        "/api/v1/releases",
        files={"manifest": ("m.json", body), "artifact": (artifact.name, artifact.read_bytes())},
        data={"notes": "sửa lỗi đọc UPS"},
    )


def _field(answer: Any) -> str:
    return str(answer.json()["errors"][0]["field"])


def _audit(conn: Conn, action: str) -> list[tuple[Any, ...]]:
    return list(
        conn.execute(
            "SELECT actor, target_id FROM audit_log WHERE action = %s ORDER BY id", (action,)
        )
    )


def test_publish_list_and_download_in_ranges(
    as_: Any, client: TestClient, key: SigningKey, tmp_path: Path, db_conn: Conn
) -> None:
    admin = as_("admin")
    answer = _publish(admin, key, tmp_path, "2.0.0")
    assert answer.status_code == 201, answer.text
    assert answer.json()["artifact"] == "edge-agent-2.0.0.tar.gz"
    assert [r["version"] for r in admin.get("/api/v1/releases").json()] == ["2.0.0"]
    assert _audit(db_conn, "release.publish") == [("quan.tri", "2.0.0")]
    assert _publish(admin, key, tmp_path, "2.0.0").status_code == 409

    data = (tmp_path / "2.0.0" / "edge-agent-2.0.0.tar.gz").read_bytes()
    whole = client.get(f"{FILES}/edge-agent-2.0.0.tar.gz")  # no account
    assert whole.status_code == 200
    assert whole.content == data
    assert whole.headers["accept-ranges"] == "bytes"
    part = client.get(f"{FILES}/edge-agent-2.0.0.tar.gz", headers={"Range": "bytes=100-"})
    assert part.status_code == 206
    assert part.headers["content-range"] == f"bytes 100-{len(data) - 1}/{len(data)}"
    assert part.content == data[100:]
    past = client.get(f"{FILES}/edge-agent-2.0.0.tar.gz", headers={"Range": "bytes=99999-"})
    assert past.status_code == 416
    assert past.headers["content-range"] == f"bytes */{len(data)}"
    assert client.get(f"{FILES}/edge-agent-9.9.9.tar.gz").status_code == 404
    assert client.get(f"{FILES}/..%2Fsecret").status_code in (404, 422)


def test_publish_refusals_name_the_field(
    as_: Any, key: SigningKey, tmp_path: Path, db_conn: Conn
) -> None:
    admin = as_("admin")
    stranger = SigningKey.new()
    foreign = _publish(admin, stranger, tmp_path, "2.0.1")
    assert foreign.status_code == 422
    assert _field(foreign) == "manifest"
    assert "unknown key id" in foreign.json()["detail"]
    manifest, artifact = write_release(key, tmp_path / "t", "2.0.2")
    tampered = admin.post(
        "/api/v1/releases",
        files={
            "manifest": ("m.json", manifest.read_bytes()),
            "artifact": (artifact.name, artifact.read_bytes()[:-1] + b"X"),
        },
    )
    assert tampered.status_code == 422
    assert _field(tampered) == "artifact"
    forged = json.loads(manifest.read_text()) | {"size": 5}
    resigned = _publish(admin, key, tmp_path, "2.0.3", manifest=json.dumps(forged).encode())
    assert (resigned.status_code, _field(resigned)) == (422, "manifest")  # signature broken
    garbage = _publish(admin, key, tmp_path, "2.0.4", manifest=b"\xff not json")
    assert (garbage.status_code, _field(garbage)) == (422, "manifest")
    assert admin.get("/api/v1/releases").json() == []
    assert not list((tmp_path / "data" / "releases").glob("*"))  # nothing left behind


def test_rollout_lifecycle_through_the_api(
    as_: Any, key: SigningKey, tmp_path: Path, db_conn: Conn
) -> None:
    admin = as_("admin")
    assert _publish(admin, key, tmp_path, "2.0.0").status_code == 201
    body = {
        "version": "2.0.0",
        "target": {"board_ids": ["lc-ma-lu-thang-01", "lc-ma-lu-thang-02", "lc-mu-ca-01"]},
        "waves": [{"count": 1}, {"percent": 100}],
        "max_failure_percent": 34,
    }
    dry = admin.post("/api/v1/rollouts", json=body | {"dry_run": True})
    assert dry.status_code == 201, dry.text
    assert (dry.json()["boards"], dry.json()["waves"]) == (3, [1, 2])
    assert admin.get("/api/v1/rollouts").json() == []  # a dry run creates nothing
    created = admin.post("/api/v1/rollouts", json=body)
    assert created.status_code == 201, created.text
    rollout = created.json()
    assert rollout["state"] == "running"
    assert [(b["board_id"], b["wave"], b["state"]) for b in rollout["boards"]] == [
        ("lc-ma-lu-thang-01", 1, "pending"), ("lc-ma-lu-thang-02", 2, "pending"),
        ("lc-mu-ca-01", 2, "pending"),
    ]  # fmt: skip
    url = f"/api/v1/rollouts/{rollout['id']}"
    assert admin.get(url).json()["counts"] == {"pending": 3}
    assert admin.post(f"{url}/pause").json()["state"] == "paused"
    assert admin.post(f"{url}/pause").status_code == 409
    assert admin.post(f"{url}/resume").json()["state"] == "running"
    aborted = admin.post(f"{url}/abort", json={"reason": "lỗi phát hiện ở phòng thử"}).json()
    assert (aborted["state"], aborted["reason"]) == ("aborted", "lỗi phát hiện ở phòng thử")
    assert aborted["counts"] == {"cancelled": 3}
    assert admin.post(f"{url}/resume").status_code == 409
    assert admin.get("/api/v1/rollouts/999").status_code == 404
    for action in ("create", "pause", "resume", "abort"):
        assert _audit(db_conn, f"rollout.{action}") == [("quan.tri", str(rollout["id"]))]


def test_rollout_targets_boards_with_any_of_its_tags(
    as_: Any, key: SigningKey, tmp_path: Path
) -> None:
    admin = as_("admin")
    assert _publish(admin, key, tmp_path, "2.0.0").status_code == 201
    for board, tags in (("lc-mu-ca-01", ["pilot"]), ("lc-phong-tho-01", ["north", "x"])):
        assert admin.patch(f"/api/v1/boards/{board}", json={"tags": tags}).status_code == 200
    body = {"version": "2.0.0", "waves": [{"percent": 100}]}
    both = admin.post("/api/v1/rollouts", json=body | {"target": {"tags": ["pilot", "north"]}})
    assert both.status_code == 201, both.text
    assert [b["board_id"] for b in both.json()["boards"]] == ["lc-mu-ca-01", "lc-phong-tho-01"]
    assert both.json()["target"] == {"tags": ["pilot", "north"]}
    # with another criterion: boards matching both (the tag and the site)
    site = admin.get("/api/v1/boards/lc-mu-ca-01").json()["site_id"]
    one = {"tags": ["pilot", "north"], "site_ids": [site]}
    dry = admin.post("/api/v1/rollouts", json=body | {"target": one, "dry_run": True})
    assert dry.json()["boards"] == 1


#: a change to a good body, and the field its refusal names
REFUSALS: list[tuple[dict[str, Any], str]] = [
    ({"version": "9.9.9"}, "version"),
    ({"target": {}}, "target"),
    ({"target": {"board_ids": ["lc-nowhere-01"]}}, "target.board_ids"),
    ({"target": {"site_ids": [999999]}}, "target"),
    ({"target": {"site_ids": [2**70]}}, "target.site_ids.0"),
    ({"target": {"board_ids": ["ok-01", "bad id\u0000"]}}, "target.board_ids.1"),
    ({"target": {"tags": ["nobody-has-it"]}}, "target"),
    ({"target": {"tags": []}}, "target.tags"),
    ({"target": {"tags": ["Bad Tag"]}}, "target.tags.0"),
    ({"waves": [{"count": 1, "percent": 50}]}, "waves.0"),
    ({"waves": [{}]}, "waves.0"),
    ({"waves": []}, "waves"),
    ({"max_failures": 1, "max_failure_percent": 10}, "max_failures"),
    ({"max_failure_percent": 150}, "max_failure_percent"),
    ({"max_failures": -1}, "max_failures"),
    ({"health_deadline_s": 10}, "health_deadline_s"),
]


def test_rollout_refusals_name_the_field(as_: Any, key: SigningKey, tmp_path: Path) -> None:
    admin = as_("admin")
    assert _publish(admin, key, tmp_path, "2.0.0").status_code == 201
    body = {
        "version": "2.0.0",
        "target": {"board_ids": ["lc-ma-lu-thang-01"]},
        "waves": [{"count": 1}],
    }
    for change, field in REFUSALS:
        answer = admin.post("/api/v1/rollouts", json=body | change)
        assert answer.status_code == 422, answer.text
        errors = answer.json()["errors"]
        assert any(str(e["field"]).startswith(field) for e in errors), (change, errors)
    assert admin.get("/api/v1/rollouts").json() == []


@pytest.mark.parametrize("role", ["operator", "technician", "guard", "viewer", "province"])
def test_only_admins_manage_releases(as_: Any, role: str) -> None:
    user = as_(role)
    assert user.get("/api/v1/releases").status_code == 403
    assert user.post("/api/v1/releases", files={"manifest": ("m", b"{}")}).status_code == 403
    assert user.get("/api/v1/rollouts").status_code == 403
    assert user.post("/api/v1/rollouts", json={}).status_code == 403
    assert user.post("/api/v1/rollouts/1/abort").status_code == 403
