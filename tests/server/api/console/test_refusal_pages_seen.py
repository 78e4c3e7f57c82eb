"""The refusals the walkthrough found in English on Vietnamese pages, each
on its form in both languages: the reason from the catalogue with its
values (a line number, a missing column) and the field marked. Every form
at once: test_refusal_pages.py; every reason: test_refusal_words.py."""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient

from fleet_server.api.console import i18n
from tests.server.api.console.conftest import csrf_of

NewBrowser = Callable[..., TestClient]
REFUSAL = re.compile(
    r'<div class="flash error refusal"[^>]*data-error="([^"]*)"[^>]*>(.*?)</div>', re.S
)
ENGLISH = (
    "not a date",
    "the two passwords differ",
    "a whole number of seconds",
    "needs an id and a name",
    "missing column",
    "is not a date (YYYY-MM-DD)",
)


def _site(db_conn: Any) -> str:
    return str(db_conn.execute("SELECT min(id) FROM sites").fetchone()[0])


def _sent(browser: TestClient, page: str, action: str, lang: str, /, **form: Any) -> Any:
    """``form`` posted after the reader chose ``lang`` on ``page``."""
    csrf = csrf_of(browser.get(f"{page}?lang={lang}").text)
    return browser.post(action, data={"csrf_token": csrf, **form})


def _refused(answer: Any, language: str, key: str, field: str, **values: Any) -> None:
    """The refusal says ``key`` (with ``values``) in ``language``, names
    ``field`` and marks its box; no English reason is left on the page."""
    assert answer.status_code == 400, answer.text
    found = REFUSAL.search(answer.text)
    assert found, "no refusal on the page"
    said = " ".join(html.unescape(re.sub(r"<[^>]+>", " ", found.group(2))).split())
    assert i18n.translator(language)(key, **values) in said, said
    assert found.group(1) == field
    box = re.search(rf'<(input|textarea|select)\b[^>]*\bname="{field}"[^>]*>', answer.text)
    assert box, f"no box named {field}"
    assert 'aria-invalid="true"' in box.group(0), box.group(0)
    if language == "vi":
        assert not any(english in said for english in ENGLISH), said


@pytest.mark.parametrize("language", ["vi", "en"])
@pytest.mark.parametrize(
    ("fields", "key", "field", "values"),
    [
        ({"cameras": "cam1 Cổng\ncam2"}, "refusal.camera_line", "cameras", {"line": 2}),
        ({"installed_on": "30/11/2026"}, "refusal.day", "installed_on", {}),
        ({"heartbeat_interval_s": "5 phút"}, "refusal.seconds", "heartbeat_interval_s", {}),
    ],
)
def test_a_new_board_refused_in_the_readers_words(
    new_browser: NewBrowser,
    db_conn: Any,
    language: str,
    fields: dict[str, str],
    key: str,
    field: str,
    values: dict[str, Any],
) -> None:
    form = {"board_id": "lc-tu-choi-1", "site_id": _site(db_conn), "name": "Bảng thử"}
    answer = _sent(new_browser("admin"), "/admin/boards", "/admin/boards", language,
                   **form, auth="password", **fields)  # fmt: skip
    _refused(answer, language, key, field, **values)


@pytest.mark.parametrize("language", ["vi", "en"])
def test_two_passwords_that_differ_refused_in_the_readers_words(
    new_browser: NewBrowser, language: str
) -> None:
    form = {"username": "nguoi.moi", "full_name": "Người Mới", "role": "viewer", "language": "vi"}
    answer = _sent(new_browser("admin"), "/admin/users", "/admin/users", language, **form,
                   password="Mật khẩu dài 2026!", password_again="Mật khẩu khác 2026!")  # fmt: skip
    _refused(answer, language, "refusal.passwords_differ", "password_again")
    assert "Mật khẩu dài 2026!" not in answer.text  # a password is never written back


@pytest.mark.parametrize("language", ["vi", "en"])
def test_a_weak_password_refused_in_the_readers_words_with_its_limit(
    new_browser: NewBrowser, language: str
) -> None:
    form = {"username": "nguoi.moi", "full_name": "Người Mới", "role": "viewer", "language": "vi"}
    answer = _sent(new_browser("admin"), "/admin/users", "/admin/users", language, **form,
                   password="Ngắn1!", password_again="Ngắn1!")  # fmt: skip
    _refused(answer, language, "refusal.password_short", "password", n=12)


@pytest.mark.parametrize("language", ["vi", "en"])
def test_an_incident_report_with_a_bad_time_refused_in_the_readers_words(
    new_browser: NewBrowser, db_conn: Any, language: str
) -> None:
    form = {
        "target": f"site:{_site(db_conn)}",
        "category": "power",
        "severity": "major",
        "title": "Mất điện",
        "observed_at": "hôm qua",
    }
    answer = _sent(new_browser("operator"), "/incidents/report", "/incidents/report",
                   language, **form)  # fmt: skip
    _refused(answer, language, "refusal.date_time", "observed_at")


@pytest.mark.parametrize("language", ["vi", "en"])
def test_an_emergency_order_with_a_bad_start_refused_in_the_readers_words(
    new_browser: NewBrowser, language: str
) -> None:
    form = {
        "authority": "UBND tỉnh",
        "document_number": "12/QĐ",
        "document_date": "2026-12-01",
        "starts_at": "sáng mai",
        "ends_at": "2026-12-09T08:00",
        "all_sites": "on",
    }
    answer = _sent(new_browser("admin"), "/reports", "/reports/emergency-orders", language,
                   **form)  # fmt: skip
    _refused(answer, language, "refusal.date_time", "starts_at")


@pytest.mark.parametrize("language", ["vi", "en"])
def test_a_supplier_with_a_bad_day_refused_in_the_readers_words(
    new_browser: NewBrowser, language: str
) -> None:
    form = {"name": "Đài PT-TH", "obligation": "none", "obligation_from": "1/12/2026"}
    answer = _sent(new_browser("admin"), "/content/suppliers", "/content/suppliers", language,
                   **form)  # fmt: skip
    _refused(answer, language, "refusal.day", "obligation_from")


@pytest.mark.parametrize("language", ["vi", "en"])
def test_a_board_file_without_its_columns_refused_in_the_readers_words(
    new_browser: NewBrowser, language: str
) -> None:
    admin = new_browser("admin")
    csrf = csrf_of(admin.get(f"/admin/boards?lang={language}").text)
    answer = admin.post(
        "/admin/boards/import",
        data={"csrf_token": csrf},
        files={"file": ("x.csv", b"id;where\n1;2\n", "text/csv")},
    )
    found = REFUSAL.search(answer.text)
    assert answer.status_code == 400
    assert found
    said = html.unescape(found.group(2))
    words = i18n.translator(language)("refusal.csv_missing", missing="\x00", columns="\x01")
    assert words.split("\x00")[0] + "board_id, site, name" in said, said
    box = re.search(r'<input type="file" name="file"[^>]*>', answer.text)
    assert box
    assert "aria-invalid" in box.group(0)


@pytest.mark.parametrize("language", ["vi", "en"])
def test_each_refused_row_of_a_board_file_says_why_in_the_readers_words(
    new_browser: NewBrowser, language: str
) -> None:
    """Rows refused before any is provisioned (no broker needed): each row's
    reason from the catalogue, with its values."""
    admin = new_browser("admin")
    csrf = csrf_of(admin.get(f"/admin/boards?lang={language}").text)
    text = (
        "board_id,site,name,installed_on,heartbeat_interval_s\n"
        "lc-tep-1,phong-tho,Bảng một,30/11/2026,\n"
        "lc-tep-2,,Bảng hai,,\n"
        "lc-tep-3,phong-tho,Bảng ba,,năm phút\n"
    )
    answer = admin.post(
        "/admin/boards/import",
        data={"csrf_token": csrf},
        files={"file": ("boards.csv", text.encode(), "text/csv")},
    )
    assert answer.status_code == 200, answer.text
    t = i18n.translator(language)
    rows = dict(re.findall(r'data-line="(\d+)" data-ok="no">(.*?)</li>', answer.text, re.S))
    assert t("refusal.day") in html.unescape(rows["2"])
    assert t("refusal.board_site") in html.unescape(rows["3"])
    assert t("refusal.seconds") in html.unescape(rows["4"])
    if language == "vi":
        assert not any(english in html.unescape(answer.text) for english in ENGLISH)
