"""Only an approved submission counts toward Điều 8.1, as the kind its Điều 7
category gives it; submitted, under appraisal and returned items count as
unapproved time whatever the board says it is showing.

Điều 8.1: "Thời lượng đăng phát thông tin phục vụ công tác tuyên truyền trên
cụm thông tin điện tử công cộng, tối thiểu 6 giờ/ngày (3 giờ buổi sáng và 3
giờ buổi chiều)."
Điều 7.5: "Thông tin quảng cáo." Điều 7.2.d: "Thông tin về phòng, chống thiên
tai, tìm kiếm, cứu nạn; hỏa hoạn; cấp cứu, dịch bệnh; thảm họa xẩy ra ở địa
phương hoặc có ảnh hưởng đến địa phương."
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from fleet_server.compliance.job import ComplianceJob
from fleet_server.compliance.models import ComplianceSettings
from fleet_server.content import service_workflow
from fleet_server.content.schemas_workflow import ApproveIn, ReturnIn, SubmissionIn
from tests.server.compliance.conftest import DAY, SHA_X, Conn, Days, at
from tests.support.principals import province_admin

ADMIN = province_admin(user_id=0)
ACTOR = ADMIN.acting_from("127.0.0.1")


def submission(conn: Conn, category: str, sub: str | None = None) -> int:
    body = SubmissionIn(
        title="Phóng sự", category=category, subcategory=sub, language="vi", sha256=SHA_X
    )
    return service_workflow.submit(
        conn, ADMIN, ACTOR, body, at(DAY, "00:00") - timedelta(days=2)
    ).id


def take(conn: Conn, submission_id: int, final: str) -> None:
    """Move the submission to ``final``; approval makes it valid from 00:00."""
    now = at(DAY, "00:00") - timedelta(days=1)
    if final == "submitted":
        return
    service_workflow.start_appraisal(conn, ADMIN, ACTOR, submission_id, now=now)
    if final == "approved":
        service_workflow.approve(
            conn, ADMIN, ACTOR, submission_id, body=ApproveIn(valid_from=now), now=now
        )
    elif final == "returned":
        comment = ReturnIn(comment="Sửa lại").comment
        service_workflow.return_with_comments(
            conn, ADMIN, ACTOR, submission_id, now=now, comment=comment
        )


def judged(conn: Conn, days: Days) -> dict[str, object]:
    days.samples("lc-mlt-01", at(DAY, "07:00"), at(DAY, "10:00"), sha=SHA_X)
    days.samples("lc-mlt-01", at(DAY, "14:00"), at(DAY, "17:00"), sha=SHA_X)
    ComplianceJob(ComplianceSettings()).run(conn, at(DAY + timedelta(days=1), "08:00"))
    conn.commit()
    return days.day("lc-mlt-01", DAY)


@pytest.mark.parametrize("final", ["submitted", "under_appraisal", "returned"])
def test_an_item_not_approved_never_counts(conn: Conn, days: Days, final: str) -> None:
    take(conn, submission(conn, "policy"), final)
    day = judged(conn, days)
    assert (day["counted"], day["unapproved"], day["status"]) == (0.0, 360.0, "non_compliant")


@pytest.mark.parametrize(
    ("category", "sub", "counted", "advertising"),
    [
        ("policy", None, 360.0, 0.0),
        ("local", "projects", 360.0, 0.0),
        ("local", "disaster", 360.0, 0.0),  # emergency information counts (Điều 8.1)
        ("advertising", None, 0.0, 360.0),  # Điều 7.5 is measured beside it (Điều 8.3)
    ],
)
def test_an_approved_item_counts_as_its_categorys_kind(
    conn: Conn, days: Days, category: str, sub: str | None, counted: float, advertising: float
) -> None:
    take(conn, submission(conn, category, sub), "approved")
    day = judged(conn, days)
    assert (day["counted"], day["advertising"], day["unapproved"]) == (counted, advertising, 0.0)
