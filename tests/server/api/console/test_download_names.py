"""The reports page's downloads are named in the reader's language (found by
the phone walkthrough: an English reader got "luu-tru-….zip"): the console
passes its language on to the API's download (``lang``), which names the
file in it; without ``lang`` the API names it in the account's language."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, urlsplit

import psycopg
import pytest
from fastapi.testclient import TestClient

from fleet_server.api.routers.compliance import _file
from fleet_server.compliance.models import local_day
from fleet_server.reports.service import Download, file_name

NewBrowser = Callable[..., TestClient]
YEAR = "2026"
#: The API's download behind each of the page's forms, and its form's fields.
FORMS = {
    "archive": ("/reports/archive", {"from": "{day}", "to": "{day}"}),
    "annual": ("/reports/annual", {"year": YEAR, "organisation_id": ""}),
    "period": ("/reports/period", {"from": "2026-11-01", "to": "2026-11-30"}),
}
NAMES = {
    ("vi", "archive"): "luu-tru-bql-kkt-{day}-{day}.zip",
    ("en", "archive"): "archive-bql-kkt-{day}-{day}.zip",
    ("vi", "annual"): f"bao-cao-nam-{YEAR}-bql-kkt.docx",
    ("en", "annual"): f"annual-report-{YEAR}-bql-kkt.docx",
    ("vi", "period"): "bao-cao-dot-xuat-2026-11-01-2026-11-30-bql-kkt.docx",
    ("en", "period"): "ad-hoc-report-2026-11-01-2026-11-30-bql-kkt.docx",
}


def named(answer: Any) -> str:
    found = re.fullmatch(r'attachment; filename="([^"]+)"', answer.headers["content-disposition"])
    assert found, answer.headers["content-disposition"]
    return found.group(1)


@pytest.mark.parametrize("kind", sorted(FORMS))
@pytest.mark.parametrize("lang", ["vi", "en"])
def test_a_console_download_is_named_in_the_readers_language(
    new_browser: NewBrowser, clock: Any, kind: str, lang: str
) -> None:
    day = local_day(clock()).isoformat()
    browser = new_browser("operator")
    assert browser.get("/reports", params={"lang": lang}).status_code == 200  # the cookie
    path, fields = FORMS[kind]
    params = {k: v.format(day=day) for k, v in fields.items()}
    answer = browser.get(path, params=params, follow_redirects=False)
    assert answer.status_code == 303
    assert parse_qs(urlsplit(answer.headers["location"]).query)["lang"] == [lang]
    download = browser.get(answer.headers["location"])
    assert download.status_code == 200, download.text
    assert named(download) == NAMES[lang, kind].format(day=day)


def test_the_whole_provinces_archive_and_a_sites_in_english(
    new_browser: NewBrowser, clock: Any, api_db: str
) -> None:
    day = local_day(clock()).isoformat()
    admin = new_browser("admin")
    whole = admin.get(
        "/reports/archive", params={"from": day, "to": day, "lang": "en"}, follow_redirects=True
    )
    assert named(whole) == f"archive-province-{day}-{day}.zip"
    with psycopg.connect(api_db) as conn:
        row = conn.execute("SELECT id, code FROM sites ORDER BY id LIMIT 1").fetchone()
    assert row is not None
    site, code = row
    one = admin.get(
        "/reports/archive",
        params={"from": day, "to": day, "site": f"site:{site}", "lang": "en"},
        follow_redirects=False,
    )
    query = parse_qs(urlsplit(one.headers["location"]).query)
    assert (query["site_id"], query["lang"], "site" in query) == ([str(site)], ["en"], False)
    assert named(admin.get(one.headers["location"])) == f"archive-{code}-{day}-{day}.zip"
    vi = admin.get("/reports/archive", params={"from": day, "to": day}, follow_redirects=True)
    assert named(vi) == f"luu-tru-toan-tinh-{day}-{day}.zip"


def test_the_api_names_a_file_in_the_accounts_language_unless_asked(
    as_: Any, db_conn: Any, clock: Any
) -> None:
    day = local_day(clock()).isoformat()
    db_conn.execute("UPDATE users SET language = 'en' WHERE username = 'van.hanh'")
    db_conn.commit()
    operator = as_("operator")
    params = {"from": day, "to": day}
    assert named(operator.get("/api/v1/archive", params=params)) == NAMES["en", "archive"].format(
        day=day
    )
    asked = operator.get("/api/v1/archive", params={**params, "lang": "vi"})
    assert named(asked) == NAMES["vi", "archive"].format(day=day)
    refused = operator.get("/api/v1/archive", params={**params, "lang": "fr"})
    assert refused.status_code == 422


def test_a_name_beyond_ascii_is_also_given_whole() -> None:
    """A code outside ASCII (none is today): an ASCII ``filename`` and the
    name itself as RFC 5987's ``filename*``."""
    answer = _file(Download('archive-Điểm "1".zip', b"", "application/zip"))
    assert answer.headers["content-disposition"] == (
        'attachment; filename="archive-_i_m _1_.zip"; '
        "filename*=UTF-8''archive-%C4%90i%E1%BB%83m%20%221%22.zip"
    )
    assert file_name("fr", "annual", None, year=2026) == "bao-cao-nam-2026-toan-tinh.docx"
