"""The annual report's year, typed into the console's download link: a
year that is not a number or before the platform's first (2020) left the
reader on the API's 422 JSON, in English, and a future year started the
download of a report of nothing. Now the reports page comes back in the
reader's language, the year marked and kept, with the years there are."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from fastapi.testclient import TestClient

from fleet_server.localtime import local_day

NewBrowser = Callable[..., TestClient]
BOX = 'class="flash error refusal"'


def latest_year(today: date) -> int:
    """The last report year begun (Điều 14: a report year starts on 15 Dec
    of the year before)."""
    return today.year + 1 if today >= date(today.year, 12, 15) else today.year


@pytest.mark.parametrize("lang", ["vi", "en"])
@pytest.mark.parametrize("kind", ["not a number", "too early", "future"])
def test_a_bad_year_comes_back_on_the_reports_page(
    new_browser: NewBrowser, clock: Any, lang: str, kind: str
) -> None:
    latest = latest_year(local_day(clock()))
    typed = {"not a number": "abc", "too early": "1900", "future": str(latest + 1)}[kind]
    browser = new_browser("operator")
    assert browser.get("/reports", params={"lang": lang}).status_code == 200  # the cookie
    page = browser.get("/reports/annual", params={"year": typed, "organisation_id": ""})
    assert page.status_code == 400
    assert page.headers["content-type"].startswith("text/html")
    box = page.text.split(BOX)[1].split("</div>", maxsplit=1)[0]
    assert 'data-error="year"' in box
    words = {
        "vi": ("Chưa tải được.", "Mục cần sửa: Năm.", f"Hãy nhập một năm từ 2020 đến {latest}."),
        "en": ("Not downloaded.", "Field to correct: Year.", f"Give a year from 2020 to {latest}."),
    }[lang]
    for said in words:
        assert said in box, (said, box)
    form = page.text.split('id="annual"')[1].split("</form>", maxsplit=1)[0]
    assert '<select name="year" aria-invalid="true">' in form
    assert f'<option value="{typed}" selected>{typed}</option>' in form
    assert form.count(" selected") == 1  # the typed year, not the default one
    assert page.text.count(BOX) == 1  # beside the annual report's form only


def test_a_year_in_range_still_downloads(new_browser: NewBrowser, clock: Any) -> None:
    browser = new_browser("operator")
    for year in ("2020", f" {latest_year(local_day(clock()))} "):
        answer = browser.get("/reports/annual", params={"year": year, "organisation_id": ""})
        assert answer.status_code == 303, answer.text
        target = urlsplit(answer.headers["location"])
        assert target.path == "/api/v1/reports/annual"
        assert parse_qs(target.query) == {"year": [year.strip()], "lang": ["vi"]}
    download = browser.get(answer.headers["location"])
    assert download.status_code == 200, download.text
    assert download.headers["content-disposition"].startswith("attachment;")
