"""Bulk provisioning from CSV: good rows provisioned, bad rows reported with
their reason and leaving nothing behind — also when the broker refuses one
row in the middle of the file."""

from __future__ import annotations

import pytest

from fleet_server.broker.acls import board_role_name
from fleet_server.broker.dynsec import DynsecClient
from fleet_server.provisioning import ImportFileError, ProvisioningService, load_board
from fleet_server.provisioning.csvimport import import_boards
from tests.server.provisioning.conftest import CLI, Conn, RefusingBroker, unique
from tests.support.secure_broker import SecureBroker


def test_good_rows_are_provisioned_and_bad_rows_leave_nothing(
    service: ProvisioningService, conn: Conn, broker: SecureBroker, admin: DynsecClient
) -> None:
    good = [unique("lc-csv-ok") for _ in range(3)]
    refused, bad_site, bad_date = unique("lc-csv-no"), unique("lc-csv-no"), unique("lc-csv-no")
    text = "\n".join(
        [
            "\ufeffboard_id, site, name, model, serial, installed_on, cameras, auth",
            f"{good[0]},ma-lu-thang,Bảng tin 1,LED P5,SN1,2026-05-01,cam1:Cổng chính;cam2,",
            f"{bad_site},no-such-site,Bảng tin 2,,,,,",
            "bad id!,ma-lu-thang,Bảng tin 3,,,,,",
            "lc-ma-lu-thang-01,ma-lu-thang,Bảng đã có,,,,,",
            f'{good[1]},phong-tho,"Bảng tin 5, huyện",,,,,certificate',
            f"{good[0]},ma-lu-thang,Trùng trong tệp,,,,,",
            f"{refused},ma-lu-thang,Bảng tin 7,,,,,",
            f"{bad_date},ma-lu-thang,Bảng tin 8,,,31/12/2026,,",
            "",
            f"{good[2]},ma-lu-thang,Bảng tin 9,,,,,password",
            "lc-x-01,ma-lu-thang,Bảng,,,,,telepathy",
        ]
    )
    seen: list[int] = []
    with broker.dynsec() as inner:
        seam = RefusingBroker(inner, {refused}, {"ensure_board"})
        report = import_boards(
            service,
            conn,
            text,
            CLI,
            source="test.csv",
            broker=seam,
            on_row=lambda r: seen.append(r.row),
        )
    outcome = [(r.row, r.board_id, r.reason) for r in report.rows]
    assert outcome == [
        (2, good[0], None),
        (3, bad_site, "unknown_site"),
        (4, "bad id!", "bad_id"),
        (5, "lc-ma-lu-thang-01", "duplicate"),
        (6, good[1], None),
        (7, good[0], "duplicate"),
        (8, refused, "broker_refused"),
        (9, bad_date, "bad_row"),
        (11, good[2], None),
        (12, "lc-x-01", "bad_row"),
    ]
    assert seen == [r.row for r in report.rows]
    assert report.summary() == "3 provisioned, 7 failed"
    for board_id in good:
        board = load_board(conn, board_id)
        assert board is not None
        assert admin.get_client(board_id) is not None
    first = load_board(conn, good[0])
    assert first is not None
    assert first.cameras == ("cam1", "cam2")
    second = load_board(conn, good[1])
    assert second is not None
    assert (second.auth, second.site_code, second.name) == (
        "certificate",
        "phong-tho",
        "Bảng tin 5, huyện",
    )
    for board_id in (refused, bad_site, bad_date):
        assert load_board(conn, board_id) is None
        assert admin.get_client(board_id) is None
        assert admin.get_role(board_role_name(board_id)) is None
    summary = conn.execute(
        "SELECT actor, detail, after FROM audit_log WHERE action = 'board.import'"
    ).fetchall()
    assert len(summary) == 1
    assert summary[0][1] == "3 provisioned, 7 failed"
    assert summary[0][2]["provisioned"] == good
    provisions = conn.execute(
        "SELECT target_id FROM audit_log WHERE action = 'board.provision' ORDER BY id"
    ).fetchall()
    assert [r[0] for r in provisions] == good
    for row in report.provisioned:
        assert row.provisioned is not None
        password = row.provisioned.bundle.password
        if password is not None:
            assert password not in str(
                conn.execute("SELECT array_agg(a::text) FROM audit_log a").fetchone()
            )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty"),
        ("board_id,name\nlc-a,Bảng\n", "missing column(s) site"),
        ("board_id,site,name,colour\n", "unknown column(s) 'colour'"),
        ("board_id,site,name,name\n", "named twice"),
    ],
)
def test_an_unusable_file_is_refused_whole(
    service: ProvisioningService, conn: Conn, text: str, message: str
) -> None:
    with pytest.raises(ImportFileError) as refused:
        import_boards(service, conn, text, CLI)
    assert message in refused.value.detail
    assert conn.execute("SELECT count(*) FROM audit_log").fetchone() == (0,)
