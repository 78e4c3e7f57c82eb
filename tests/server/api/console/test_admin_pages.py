"""The administration pages of the console: notification contacts and
routes (``route.read`` reads, ``route.write`` changes) and accounts
(``user.admin``). Every form goes through the API's service, says what it
did, is audited as the API's call is, and a refused one comes back on its
own page with the reason — never with a password or secret typed into it.

Điều 9.2 of the regulation: «Cơ quan, đơn vị, cá nhân được cấp tài khoản để
thực hiện nhiệm vụ trên Cụm Thông tin điện tử công cộng theo quy định có
trách nhiệm giữ gìn, bảo vệ đúng theo quy định của pháp luật hiện hành»."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient

from fleet_server.notifications.models import Notice, Text
from fleet_server.notifications.storage import enqueue
from tests.server.api.conftest import ACCOUNTS, PASSWORD, audit_actions
from tests.server.api.console.conftest import csrf_of, sign_in

NewBrowser = Callable[..., TestClient]
SECRET = "webhook-secret-0123456789"
NEW_PASSWORD = "Cuc-Bao-Tin-Sin-Ho-2027"


def _post(browser: TestClient, page: str, action: str, **form: Any) -> Any:
    """Fill in a form found on ``page`` (its CSRF token) and send it."""
    csrf = csrf_of(browser.get(page).text)
    return browser.post(action, data={"csrf_token": csrf, **form})


def _org(db_conn: Any, code: str) -> int:
    row = db_conn.execute("SELECT id FROM organisations WHERE code = %s", (code,)).fetchone()
    return int(row[0])


def _reason(page: str) -> str:
    found = re.search(r'<div class="flash error refusal" role="alert"[^>]*>(.*?)</div>', page, re.S)
    assert found, "no refusal on the page"
    return re.sub(r"\s+", " ", found.group(1))


# -- contacts ----------------------------------------------------------------------------


def test_admin_adds_changes_disables_and_deletes_a_contact(
    new_browser: NewBrowser, db_conn: Any
) -> None:
    admin = new_browser("admin")
    org = _org(db_conn, "bql-kkt")
    created = _post(
        admin,
        "/admin/contacts",
        "/admin/contacts",
        name="  Trực ban BQL  ",
        kind="duty_desk",
        organisation_id=str(org),
        email="truc.ban@laichau.gov.vn",
        webhook_url="https://hooks.example.vn/notify",
        webhook_secret=SECRET,
        language="vi",
    )
    assert created.status_code == 303, created.text
    where = created.headers["location"]
    assert re.fullmatch(r"/admin/contacts/\d+\?flash=admin_contact_created#main", where)
    page = admin.get(where).text
    assert 'data-flash="admin_contact_created"' in page
    assert "Đã thêm người nhận thông báo." in page
    assert "Trực ban BQL" in page
    assert "truc.ban@laichau.gov.vn" in page
    assert SECRET not in page  # write-only: the page says "signed", never the secret
    contact = where.split("/")[3].split("?")[0]
    path = f"/admin/contacts/{contact}"

    changed = _post(
        admin,
        path,
        path,
        name="Trực ban BQL khu kinh tế",
        kind="duty_desk",
        organisation_id=str(org),
        email="",
        webhook_url="https://hooks.example.vn/notify",
        webhook_secret="",
        language="en",
    )
    assert changed.headers["location"] == f"{path}?flash=admin_contact_updated#main"
    row = db_conn.execute(
        "SELECT name, email, language, webhook_secret FROM contacts WHERE id = %s", (contact,)
    ).fetchone()
    assert row == ("Trực ban BQL khu kinh tế", None, "en", SECRET)  # an empty secret keeps it

    off = _post(admin, path, f"{path}/active", active="no")
    assert off.headers["location"] == f"{path}?flash=admin_contact_disabled#main"
    assert 'data-active="no"' in admin.get(path).text
    on = _post(admin, path, f"{path}/active", active="yes")
    assert on.headers["location"] == f"{path}?flash=admin_contact_enabled#main"

    gone = _post(admin, path, f"{path}/delete")
    assert gone.headers["location"] == "/admin/contacts?flash=admin_contact_deleted#main"
    assert "Đã xoá người nhận" in admin.get(gone.headers["location"]).text
    assert admin.get(path).status_code == 404
    actions = [a for _, a in audit_actions(db_conn) if a.startswith("contact.")]
    assert actions == [
        "contact.create",
        "contact.update",
        "contact.update",
        "contact.update",
        "contact.delete",
    ]


@pytest.mark.parametrize(
    ("fields", "field", "reason"),
    [
        ({"email": ""}, "email", "Người nhận cần ít nhất một cách liên lạc"),
        ({"email": "not-an-address"}, "email", "Không phải địa chỉ e-mail"),
        ({"webhook_url": "ftp://x.vn/a"}, "webhook_url", "phải bắt đầu bằng http:// hoặc https://"),
        ({"name": "   "}, "name", "Không được để trống."),
        ({"organisation_id": "abc"}, "organisation_id", "Lựa chọn không hợp lệ"),
        ({"organisation_id": "999999"}, "organisation_id", "Không có đơn vị này."),
        ({"kind": "robot"}, "kind", "Lựa chọn không hợp lệ."),
        ({"webhook_secret": "short"}, "webhook_secret", "ít nhất 16 ký tự"),
    ],
)
def test_a_refused_contact_comes_back_with_its_reason(
    new_browser: NewBrowser, db_conn: Any, fields: dict[str, str], field: str, reason: str
) -> None:
    admin = new_browser("admin")
    before = db_conn.execute("SELECT count(*) FROM contacts").fetchone()
    form = {"name": "Kỹ thuật viên A", "email": "a@laichau.gov.vn", "language": "vi"} | fields
    answer = _post(admin, "/admin/contacts", "/admin/contacts", **form)
    assert answer.status_code in (400, 422), answer.text
    assert reason in _reason(answer.text)
    assert "Chưa lưu được." in answer.text
    assert "Kỹ thuật viên A" in answer.text or fields.get("name")  # what was typed, kept
    assert "short" not in answer.text.split('id="contact-form"')[1]  # a secret is not echoed
    assert db_conn.execute("SELECT count(*) FROM contacts").fetchone() == before


def test_a_contact_that_was_sent_a_notice_is_kept_and_the_page_says_why(
    new_browser: NewBrowser, db_conn: Any
) -> None:
    admin = new_browser("admin")
    made = _post(
        admin, "/admin/contacts", "/admin/contacts", name="Đã nhận tin", email="da.nhan@lc.vn"
    )
    contact = int(made.headers["location"].split("/")[3].split("?")[0])
    notice = Notice(
        kind="incident_opened",
        severity="major",
        title=Text("Sự cố thử", "Test incident"),
        occurred_at=datetime.now(UTC),
        contact_ids=(contact,),
    )
    assert enqueue(db_conn, notice)
    path = f"/admin/contacts/{contact}"
    refused = _post(admin, path, f"{path}/delete")
    assert refused.status_code == 409
    assert "đã có lịch sử thông báo" in _reason(refused.text)
    beside = r'id="lifecycle">\s*<div class="flash error refusal"'
    assert re.search(beside, refused.text)  # by its form, not on top
    assert _post(admin, path, f"{path}/active", active="no").status_code == 303


def test_the_pages_in_english(new_browser: NewBrowser) -> None:
    admin = new_browser("admin")
    page = admin.get("/admin/users?lang=en").text
    assert "<h1>Accounts</h1>" in page
    assert ">Administration<" in page
    refused = _new_user(admin, password="short", password_again="short")
    assert "Not saved." in refused.text
    assert "Field to correct: Password." in _reason(refused.text)


def test_a_contact_reached_by_sms_and_telegram(new_browser: NewBrowser, db_conn: Any) -> None:
    """The channels beside e-mail (docs/notifications.md): a mobile number,
    typed the Vietnamese way, and a Telegram chat id."""
    admin = new_browser("admin")
    form = admin.get("/admin/contacts").text
    assert 'name="phone"' in form
    assert 'name="telegram_chat_id"' in form
    made = _post(
        admin,
        "/admin/contacts",
        "/admin/contacts",
        name="Kỹ thuật viên Sìn Hồ",
        phone="0912 345 678",
        telegram_chat_id="123456789",
        language="vi",
    )
    assert made.status_code == 303, made.text
    page = admin.get(made.headers["location"]).text
    assert "84912345678" in page
    assert "Telegram: 123456789" in page
    refused = _post(
        admin, "/admin/contacts", "/admin/contacts", name="Số sai", phone="12345", language="vi"
    )
    assert refused.status_code == 400
    assert "bắt đầu bằng 0, 84 hoặc +84" in _reason(refused.text)
    assert "Số điện thoại di động" in _reason(refused.text)  # the field, in words


def test_readers_see_contacts_and_routes_but_cannot_change_them(
    new_browser: NewBrowser, db_conn: Any
) -> None:
    """Operators and viewers read their organisation's (``route.read``); only
    admins change them; technicians and the Border Guard do not see them."""
    admin = new_browser("admin")
    org = _org(db_conn, "bql-kkt")
    made = _post(
        admin,
        "/admin/contacts",
        "/admin/contacts",
        name="Tổ trực BQL",
        organisation_id=str(org),
        email="to.truc@laichau.gov.vn",
    )
    contact = made.headers["location"].split("/")[3].split("?")[0]
    for role in ("operator", "viewer"):
        reader = new_browser(role)
        page = reader.get("/admin/contacts")
        assert page.status_code == 200
        assert "Tổ trực BQL" in page.text
        assert 'id="contact-form"' not in page.text
        assert 'id="route-form"' not in reader.get("/admin/routes").text
        refused = _post(reader, "/admin/contacts", f"/admin/contacts/{contact}/delete")
        assert refused.status_code == 403
        assert "Lỗi" in refused.text
    district = new_browser("district")  # another organisation
    assert "Tổ trực BQL" not in district.get("/admin/contacts").text
    assert district.get(f"/admin/contacts/{contact}").status_code == 404
    for role in ("technician", "guard"):
        assert new_browser(role).get("/admin/contacts").status_code == 403


# -- routes ------------------------------------------------------------------------------


def _contact(admin: TestClient, **fields: str) -> str:
    made = _post(admin, "/admin/contacts", "/admin/contacts", language="vi", **fields)
    assert made.status_code == 303, made.text
    return str(made.headers["location"].split("/")[3].split("?")[0])


def test_admin_routes_notices_to_a_contact_and_changes_the_route(
    new_browser: NewBrowser, db_conn: Any
) -> None:
    admin = new_browser("admin")
    contact = _contact(admin, name="Kỹ thuật biên giới", email="kt.bg@laichau.gov.vn")
    site = db_conn.execute("SELECT id FROM sites WHERE code = 'ma-lu-thang'").fetchone()[0]
    form = admin.get(f"/admin/routes?contact_id={contact}").text
    assert f'<option value="{contact}" selected>' in form  # from the contact's page link
    created = _post(
        admin,
        "/admin/routes",
        "/admin/routes",
        contact_id=contact,
        channel="email",
        min_severity="major",
        incident_class="technical",
        incident_kinds="camera*, mains_lost",
        site_id=str(site),
        escalation_level="0",
        note="Ca đêm",
    )
    assert created.status_code == 303, created.text
    path = created.headers["location"].split("?")[0]
    assert created.headers["location"] == f"{path}?flash=admin_route_created#main"
    page = admin.get(created.headers["location"]).text
    assert "Đã thêm tuyến thông báo." in page
    assert "camera*, mains_lost" in page
    row = db_conn.execute(
        "SELECT channel, min_severity, incident_class, incident_kinds, site_id, note"
        " FROM notification_routes WHERE id = %s",
        (path.rsplit("/", 1)[1],),
    ).fetchone()
    assert row == ("email", "major", "technical", ["camera*", "mains_lost"], site, "Ca đêm")
    assert f'data-route="{path.rsplit("/", 1)[1]}"' in admin.get(f"/admin/contacts/{contact}").text

    changed = _post(
        admin,
        path,
        path,
        contact_id=contact,
        channel="email",
        min_severity="critical",
        incident_class="",
        incident_kinds="",
        site_id="",
        escalation_level="1",
        note="",
    )
    assert changed.headers["location"] == f"{path}?flash=admin_route_updated#main"
    row = db_conn.execute(
        "SELECT min_severity, incident_class, incident_kinds, site_id, escalation_level, note"
        " FROM notification_routes WHERE id = %s",
        (path.rsplit("/", 1)[1],),
    ).fetchone()
    assert row == ("critical", None, None, None, 1, None)  # empty filters: any
    assert (
        _post(admin, path, f"{path}/active", active="no")
        .headers["location"]
        .endswith("flash=admin_route_disabled#main")
    )
    assert (
        _post(admin, path, f"{path}/delete").headers["location"]
        == "/admin/routes?flash=admin_route_deleted#main"
    )
    actions = [a for _, a in audit_actions(db_conn) if a.startswith("route.")]
    assert actions == ["route.create", "route.update", "route.update", "route.delete"]


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"contact_id": ""}, "Hãy chọn người nhận thông báo"),
        ({"channel": "webhook"}, "chưa có địa chỉ cho kênh đã chọn (webhook URL)"),
        ({"channel": "pigeon"}, "Lựa chọn không hợp lệ."),
        ({"incident_kinds": "Camera Down!"}, "Có ký tự không được phép"),
        ({"min_severity": "disaster"}, "Lựa chọn không hợp lệ."),
        ({"site_id": "987654"}, "Không có điểm lắp đặt này."),
    ],
)
def test_a_refused_route_comes_back_with_its_reason(
    new_browser: NewBrowser, db_conn: Any, fields: dict[str, str], reason: str
) -> None:
    admin = new_browser("admin")
    contact = _contact(admin, name="Chỉ có thư", email="chi.co.thu@laichau.gov.vn")
    form = {"contact_id": contact, "channel": "email", "min_severity": "warning"} | fields
    before = db_conn.execute("SELECT count(*) FROM notification_routes").fetchone()
    answer = _post(admin, "/admin/routes", "/admin/routes", **form)
    assert answer.status_code == 400, answer.text
    assert reason in _reason(answer.text)
    assert db_conn.execute("SELECT count(*) FROM notification_routes").fetchone() == before
    if "contact_id" in fields:  # the recipient's select is the field marked
        assert '<select name="contact_id" required aria-invalid="true">' in answer.text


# -- accounts ----------------------------------------------------------------------------


def _new_user(admin: TestClient, **fields: Any) -> Any:
    form = {
        "username": "nguyen.van.an",
        "full_name": "Nguyễn Văn An",
        "role": "technician",
        "team": "to-ky-thuat-bien-gioi",
        "language": "vi",
        "password": NEW_PASSWORD,
        "password_again": NEW_PASSWORD,
    } | fields
    return _post(admin, "/admin/users", "/admin/users", **form)


def test_admin_creates_an_account_changes_its_role_and_resets_its_password(
    new_browser: NewBrowser, db_conn: Any
) -> None:
    admin = new_browser("admin")
    org = _org(db_conn, "bql-kkt")
    site = db_conn.execute("SELECT id FROM sites WHERE code = 'ma-lu-thang'").fetchone()[0]
    created = _new_user(admin, organisation_id=str(org), site_ids=[str(site)])
    assert created.status_code == 303, created.text
    path = created.headers["location"].split("?")[0]
    page = admin.get(created.headers["location"]).text
    assert "Đã tạo tài khoản." in page
    assert NEW_PASSWORD not in page
    assert 'data-role="technician"' in page

    holder = new_browser()
    assert sign_in(holder, "nguyen.van.an", NEW_PASSWORD).status_code == 303
    assert holder.get("/tickets").status_code == 200
    assert holder.get("/admin/users").status_code == 403  # a technician

    promoted = _post(
        admin,
        path,
        path,
        full_name="Nguyễn Văn An",
        role="operator",
        organisation_id=str(org),
        team="",
        language="en",
        site_ids=[],
    )
    assert promoted.headers["location"] == f"{path}?flash=admin_user_updated#main"
    row = db_conn.execute(
        "SELECT role, team, language FROM users WHERE username = 'nguyen.van.an'"
    ).fetchone()
    assert row == ("operator", None, "en")

    weak = _post(admin, path, f"{path}/password", new_password="short", password_again="short")
    assert weak.status_code == 400
    assert "Mật khẩu cần ít nhất 12 ký tự." in _reason(weak.text)
    reset = _post(
        admin,
        path,
        f"{path}/password",
        new_password="Bang-Tin-Tam-Duong-2028",
        password_again="Bang-Tin-Tam-Duong-2028",
    )
    assert reset.headers["location"] == f"{path}?flash=admin_user_password#main"
    # Every session of the account is revoked: the holder signs in again.
    assert holder.get("/tickets").status_code == 303
    assert sign_in(new_browser(), "nguyen.van.an", NEW_PASSWORD).status_code != 303
    assert sign_in(new_browser(), "nguyen.van.an", "Bang-Tin-Tam-Duong-2028").status_code == 303

    disabled = _post(admin, path, f"{path}/active", active="no")
    assert disabled.headers["location"] == f"{path}?flash=admin_user_disabled#main"
    assert "mọi phiên đăng nhập" in admin.get(disabled.headers["location"]).text
    assert sign_in(new_browser(), "nguyen.van.an", "Bang-Tin-Tam-Duong-2028").status_code != 303
    enabled = _post(admin, path, f"{path}/active", active="yes")
    assert enabled.headers["location"] == f"{path}?flash=admin_user_enabled#main"
    actions = [a for _, a in audit_actions(db_conn) if a.startswith("user.")]
    assert actions[-5:] == [
        "user.create",
        "user.update",
        "user.password_reset",
        "user.update",
        "user.update",
    ]
    text = "\n".join(r[0] for r in db_conn.execute("SELECT t::text FROM audit_log t"))
    assert NEW_PASSWORD not in text


@pytest.mark.parametrize(
    ("fields", "status", "reason"),
    [
        ({"password": "short", "password_again": "short"}, 400, "Mật khẩu cần ít nhất 12 ký tự."),
        ({"password_again": "Something-Else-2027"}, 400, "Hai mật khẩu nhập không giống nhau."),
        (
            {"password": "nguyen.van.an-2027-x", "password_again": "nguyen.van.an-2027-x"},
            400,
            "Mật khẩu không được chứa tên đăng nhập.",
        ),
        ({"username": "A"}, 400, "Có ký tự không được phép"),
        ({"role": "king"}, 400, "Lựa chọn không hợp lệ."),
        ({"role": ""}, 400, "Lựa chọn không hợp lệ."),
        ({"email": "nope"}, 400, "Không phải địa chỉ e-mail"),
        ({"site_ids": ["987654"]}, 400, "Không có điểm lắp đặt này."),
        ({"username": ACCOUNTS["viewer"].username}, 409, "Đã có người dùng tên"),
    ],
)
def test_a_refused_account_comes_back_with_its_reason_and_never_its_password(
    new_browser: NewBrowser, db_conn: Any, fields: dict[str, Any], status: int, reason: str
) -> None:
    admin = new_browser("admin")
    before = db_conn.execute("SELECT count(*) FROM users").fetchone()
    answer = _new_user(admin, **fields)
    assert answer.status_code == status, answer.text
    assert reason in _reason(answer.text)
    assert "Nguyễn Văn An" in answer.text  # the rest of the form, kept
    for typed in (NEW_PASSWORD, fields.get("password"), fields.get("password_again")):
        if typed:
            assert typed not in answer.text
    assert db_conn.execute("SELECT count(*) FROM users").fetchone() == before


def test_an_admin_cannot_disable_or_demote_themselves_and_is_told_why(
    new_browser: NewBrowser, db_conn: Any
) -> None:
    admin = new_browser("admin")
    me = db_conn.execute(
        "SELECT id FROM users WHERE username = %s", (ACCOUNTS["admin"].username,)
    ).fetchone()[0]
    path = f"/admin/users/{me}"
    assert "bạn không thể tự tắt" in admin.get(path).text
    off = _post(admin, path, f"{path}/active", active="no")
    assert off.status_code == 409
    assert "Bạn không thể tự tắt tài khoản của mình" in _reason(off.text)
    demoted = _post(admin, path, path, full_name="Quản trị", role="viewer", language="vi")
    assert demoted.status_code == 409
    assert "Bạn không thể tự bỏ vai trò quản trị của mình" in _reason(demoted.text)
    assert db_conn.execute("SELECT role, active FROM users WHERE id = %s", (me,)).fetchone() == (
        "admin",
        True,
    )


def test_admin_lifts_a_lock_out(new_browser: NewBrowser, db_conn: Any) -> None:
    victim = ACCOUNTS["viewer"].username
    for _ in range(5):
        sign_in(new_browser(), victim, "wrong-password-here")
    user_id = db_conn.execute("SELECT id FROM users WHERE username = %s", (victim,)).fetchone()[0]
    admin = new_browser("admin")
    path = f"/admin/users/{user_id}"
    assert 'data-action="unlock"' in admin.get(path).text
    assert sign_in(new_browser(), victim, PASSWORD).status_code != 303
    lifted = _post(admin, path, f"{path}/unlock")
    assert lifted.headers["location"] == f"{path}?flash=admin_user_unlocked#main"
    assert sign_in(new_browser(), victim, PASSWORD).status_code == 303
    assert ("quan.tri", "user.unlock") in audit_actions(db_conn)


def test_only_admins_manage_accounts(new_browser: NewBrowser) -> None:
    for role in ("operator", "technician", "viewer", "province", "guard"):
        browser = new_browser(role)
        assert browser.get("/admin/users").status_code == 403
        refused = _post(browser, "/cameras", "/admin/users", username="x.y.z")
        assert refused.status_code == 403


def test_a_nul_in_a_contact_name_is_refused_on_the_form(
    new_browser: NewBrowser, db_conn: Any
) -> None:
    """A NUL character (PostgreSQL cannot store it) is a bad value of the
    field it is in, not a generic error page."""
    admin = new_browser("admin")
    before = db_conn.execute("SELECT count(*) FROM contacts").fetchone()
    form = {"name": "Trực\x00 ban", "email": "a@laichau.gov.vn", "language": "vi"}
    answer = _post(admin, "/admin/contacts", "/admin/contacts", **form)
    assert answer.status_code == 400
    assert "Có ký tự NUL" in _reason(answer.text)
    assert "Mục cần sửa: " in _reason(answer.text)
    assert 'value="Trực\ufffd ban"' in answer.text
    assert db_conn.execute("SELECT count(*) FROM contacts").fetchone() == before
