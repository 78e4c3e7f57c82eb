"""Vietnamese text and numbers for SMS and Zalo: diacritics, GSM segments,
mobile numbers in the 84… form the gateways want."""

from __future__ import annotations

import math
import unicodedata

#: Letters NFD does not decompose: đ/Đ are letters of their own, not d + a mark.
_LETTERS = str.maketrans({"đ": "d", "Đ": "D", "ð": "d", "Ð": "D", "ł": "l", "Ł": "L"})
#: Punctuation our texts use that a GSM 7-bit handset cannot show.
_PUNCTUATION = str.maketrans(
    {
        "—": "-",
        "–": "-",
        "‑": "-",
        "…": "...",
        "“": '"',
        "”": '"',
        "„": '"',
        "‘": "'",
        "’": "'",
        "•": "-",
        "·": "-",
        "→": "->",
        "×": "x",
        "°": " do ",
        "\u00a0": " ",
        "`": "'",
    }
)
#: GSM 03.38 basic characters in ASCII, and the extension ones (two septets each).
_GSM_ASCII = set(
    "@$\n\r _!\"#%&'()*+,-./0123456789:;<=>?ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
)
_GSM_EXTENDED = set("^{}\\[~]|")
GSM_SINGLE, GSM_PART = 160, 153
UCS2_SINGLE, UCS2_PART = 70, 67


def strip_diacritics(text: str) -> str:
    """Vietnamese without its marks, in plain ASCII: "Đường điện ở Mường Tè"
    → "Duong dien o Muong Te". Tones and vowel marks (ă â ê ô ơ ư) are
    combining marks after NFD; đ/Đ are mapped by hand; typographic
    punctuation becomes ASCII; anything else left outside ASCII becomes "?"."""
    decomposed = unicodedata.normalize("NFD", text.translate(_LETTERS))
    bare = "".join(c for c in decomposed if not unicodedata.combining(c))
    bare = unicodedata.normalize("NFC", bare).translate(_PUNCTUATION)
    return "".join(c if c.isascii() else "?" for c in bare)


def is_gsm(text: str) -> bool:
    return all(c in _GSM_ASCII or c in _GSM_EXTENDED for c in text)


def septets(text: str) -> int:
    """Length in GSM 7-bit septets (extension characters take two)."""
    return sum(2 if c in _GSM_EXTENDED else 1 for c in text)


def segments(text: str) -> tuple[str, int]:
    """("gsm7" | "ucs2", number of SMS parts) for ``text``: 160/153 septets
    per part in GSM 7-bit, 70/67 UTF-16 units in UCS-2 (any other character)."""
    if is_gsm(text):
        size, single, part = septets(text), GSM_SINGLE, GSM_PART
        encoding = "gsm7"
    else:
        size, single, part = len(text.encode("utf-16-le")) // 2, UCS2_SINGLE, UCS2_PART
        encoding = "ucs2"
    if size <= single:
        return encoding, 1
    return encoding, math.ceil(size / part)


def fit(text: str, max_segments: int) -> str:
    """``text`` cut (with "...") so that it fits in ``max_segments`` parts."""
    if segments(text)[1] <= max_segments:
        return text
    low, high = 0, len(text)
    while low < high:  # the longest prefix that fits with the ellipsis
        middle = (low + high + 1) // 2
        if segments(text[:middle].rstrip() + "...")[1] <= max_segments:
            low = middle
        else:
            high = middle - 1
    return text[:low].rstrip() + "..."


def normalize_phone(value: str) -> str:
    """A Vietnamese mobile number as the gateways want it: 84 and nine
    digits. Accepts "0912 345 678", "+84 912.345.678", "84912345678".
    Raises ValueError naming the problem."""
    digits = "".join(c for c in value.strip() if c not in " .-()")
    if digits.startswith("+"):
        digits = digits[1:]
    if not digits.isdigit() or not digits.isascii():
        raise ValueError("a phone number holds digits only (spaces, dots, dashes allowed)")
    if digits.startswith("0"):
        digits = "84" + digits[1:]
    if not digits.startswith("84"):
        raise ValueError("a Vietnamese number starts with 0, 84 or +84")
    if len(digits) != 11 or digits[2] == "0":
        raise ValueError("a Vietnamese mobile number has 10 digits (0 and nine more)")
    return digits
