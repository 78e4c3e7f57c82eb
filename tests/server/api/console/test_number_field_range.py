"""A number field's refusal of a number too large: the preventive
schedule's "Every (days)" said "At most 730" of a 10-digit number but "Too
long: at most 10 characters" of an 11-digit one. A number field names its
largest number (``Longest(n, most=...)``), and an over-long number is
refused by the range it is out of, as a shorter one is."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import psycopg
import pytest
from fastapi.testclient import TestClient

from fleet_server.api.console.forms import TooLong
from fleet_server.localtime import LOCAL_TZ
from tests.server.api.console.conftest import csrf_of
from tests.support.clock import Clock

NewBrowser = Callable[..., TestClient]
BOARD = "lc-ma-lu-thang-01"
BOX = 'class="flash error refusal"'
WORDS = {
    "vi": ("Mục cần sửa: Chu kỳ (ngày).", "Phải không quá 730."),
    "en": ("Field to correct: Every (days).", "Must be at most 730."),
}


@pytest.mark.parametrize("lang", ["vi", "en"])
def test_an_over_long_number_is_refused_by_its_range(
    new_browser: NewBrowser, api_db: str, clock: Clock, lang: str
) -> None:
    operator = new_browser("operator")
    page = operator.get("/maintenance/preventive", params={"lang": lang}).text
    due = (clock.now.astimezone(LOCAL_TZ).date() + timedelta(days=10)).isoformat()
    for every in ("9999999999", "99999999999", "1" * 40):
        refused = operator.post(
            "/maintenance/preventive",
            data={
                "csrf_token": csrf_of(page),
                "where": f"board:{BOARD}",
                "title": "Vệ sinh màn hình",
                "priority": "normal",
                "every_days": every,
                "next_due_on": due,
            },
        )
        assert refused.status_code == 400, (every, refused.text[:300])
        box = refused.text.split(BOX)[1].split("</div>", maxsplit=1)[0]
        assert 'data-error="every_days"' in box
        for said in WORDS[lang]:
            assert said in box, (every, said, box)
        assert "10" not in box  # no "at most 10 characters"
        assert f'aria-invalid="true" value="{every}"' in refused.text  # kept, marked
    with psycopg.connect(api_db) as conn:
        assert conn.execute("SELECT count(*) FROM preventive_schedules").fetchone() == (0,)


def test_only_a_number_above_the_field_s_largest_is_out_of_range() -> None:
    assert TooLong("12345678901", 10, 730).too_large()
    assert not TooLong("00000000090", 10, 730).too_large()  # 90, with zeros: too long
    assert not TooLong("1234567890x", 10, 730).too_large()  # not a number
    assert not TooLong("١٢٣٤٥٦٧٨٩٠١", 10, 730).too_large()  # digits, not ASCII
    assert not TooLong("12345678901", 10).too_large()  # a text field of digits
