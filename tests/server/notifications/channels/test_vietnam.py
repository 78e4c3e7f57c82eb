"""Vietnamese text for SMS: diacritics, GSM segments, mobile numbers."""

from __future__ import annotations

import re
import unicodedata

import pytest

from fleet_server.notifications.channels.vietnam import (
    fit,
    is_gsm,
    normalize_phone,
    segments,
    strip_diacritics,
)

#: Every vowel with every tone, upper and lower case, and đ/Đ.
VOWELS = {
    "a": "aàáảãạăằắẳẵặâầấẩẫậ",
    "e": "eèéẻẽẹêềếểễệ",
    "i": "iìíỉĩị",
    "o": "oòóỏõọôồốổỗộơờớởỡợ",
    "u": "uùúủũụưừứửữự",
    "y": "yỳýỷỹỵ",
}


@pytest.mark.parametrize("base", sorted(VOWELS))
def test_every_vowel_with_every_mark_loses_it(base: str) -> None:
    marked = VOWELS[base]
    assert strip_diacritics(marked) == base * len(marked)
    assert strip_diacritics(marked.upper()) == base.upper() * len(marked)


def test_d_with_stroke_becomes_d() -> None:
    assert strip_diacritics("đ Đ đường Điện Biên") == "d D duong Dien Bien"


def test_place_names_and_sentences() -> None:
    assert strip_diacritics("Cửa khẩu quốc tế Ma Lù Thàng") == "Cua khau quoc te Ma Lu Thang"
    assert strip_diacritics("Sìn Hồ, Mường Tè, Phong Thổ") == "Sin Ho, Muong Te, Phong Tho"
    assert strip_diacritics("Khẩn cấp — mất điện…") == "Khan cap - mat dien..."


def test_decomposed_input_is_stripped_too() -> None:
    assert strip_diacritics(unicodedata.normalize("NFD", "Lai Châu")) == "Lai Chau"


def test_what_cannot_be_shown_becomes_a_question_mark() -> None:
    assert strip_diacritics("蓝 ✓") == "? ?"
    assert strip_diacritics("x").isascii()


def test_stripped_text_is_gsm() -> None:
    text = strip_diacritics(VOWELS["a"] + " đ Đ — “quoted” 30°C")
    assert is_gsm(text)
    assert segments(text)[0] == "gsm7"


def test_segments_gsm_and_unicode() -> None:
    assert segments("a" * 160) == ("gsm7", 1)
    assert segments("a" * 161) == ("gsm7", 2)
    assert segments("a" * 306) == ("gsm7", 2)
    assert segments("a" * 307) == ("gsm7", 3)
    assert segments("[" * 80) == ("gsm7", 1)  # two septets each
    assert segments("[" * 81) == ("gsm7", 2)
    assert segments("ệ" * 70) == ("ucs2", 1)
    assert segments("ệ" * 71) == ("ucs2", 2)
    assert segments("ệ" * 134) == ("ucs2", 2)


def test_fit_cuts_to_the_segments_allowed() -> None:
    text = "Mat dien " * 100
    cut = fit(text, 2)
    assert cut.endswith("...")
    assert segments(cut)[1] == 2
    assert len(cut) > 250
    assert fit("short", 1) == "short"


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("0912345678", "84912345678"),
        ("0912 345 678", "84912345678"),
        ("+84 912.345.678", "84912345678"),
        ("84912345678", "84912345678"),
        ("(+84) 39-123-4567", "84391234567"),
    ],
)
def test_phone_numbers_in_84_form(given: str, expected: str) -> None:
    assert normalize_phone(given) == expected


@pytest.mark.parametrize(
    ("given", "problem"),
    [
        ("", "digits only"),
        ("09123abc78", "digits only"),
        ("+1 202 555 0100", "starts with 0, 84 or +84"),
        ("091234567", "10 digits"),
        ("09123456789", "10 digits"),
        ("0012345678", "10 digits"),
        ("０９１２３４５６７８", "digits only"),
    ],
)
def test_bad_phone_numbers_name_the_problem(given: str, problem: str) -> None:
    with pytest.raises(ValueError, match=re.escape(problem)):
        normalize_phone(given)
