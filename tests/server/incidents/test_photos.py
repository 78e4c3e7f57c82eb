"""Photos attached to incidents (Điều 9.3) are judged by their content and
cleaned of metadata before they are stored: the GPS position in a Border
Guard officer's photo must not be kept."""

from __future__ import annotations

import struct

import pytest

from fleet_server.errors import Invalid, TooLarge
from fleet_server.incidents.photos import (
    PhotoLimits,
    UnsupportedPhoto,
    check_count,
    check_photo,
    sniff,
)
from tests.server.incidents.images import SECRET, jpeg, png, webp

LIMITS = PhotoLimits(max_bytes=10_000, max_count=2)


def test_the_type_comes_from_the_bytes() -> None:
    assert sniff(jpeg()) == "image/jpeg"
    assert sniff(png()) == "image/png"
    assert sniff(webp()) == "image/webp"
    assert sniff(b"GIF89a....") is None
    assert sniff(b"<svg xmlns='http://www.w3.org/2000/svg'/>") is None


def test_a_jpeg_keeps_its_orientation_and_loses_its_exif() -> None:
    photo = check_photo(jpeg(orientation=6), LIMITS)
    assert photo.content_type == "image/jpeg"
    assert SECRET not in photo.data
    assert b"comment" not in photo.data
    # the one tag kept: orientation 6 (rotate 90°), big-endian
    assert struct.pack(">HHIHH", 0x0112, 3, 1, 6, 0) in photo.data
    assert photo.data.endswith(b"\x12\x34\x56\x78\xff\xd9")
    upright = check_photo(jpeg(orientation=1), LIMITS)
    assert b"Exif" not in upright.data


def test_png_and_webp_lose_their_metadata() -> None:
    cleaned = check_photo(png(), LIMITS).data
    assert SECRET not in cleaned
    assert b"IDAT" in cleaned
    assert cleaned.endswith(b"IEND\xaeB`\x82")
    wp = check_photo(webp(), LIMITS).data
    assert SECRET not in wp
    assert wp[20] & 0x0C == 0  # VP8X says: no EXIF, no XMP
    assert struct.unpack("<I", wp[4:8])[0] == len(wp) - 8


def test_each_rejection_names_the_problem() -> None:
    with pytest.raises(Invalid, match="photo is empty"):
        check_photo(b"", LIMITS)
    with pytest.raises(TooLarge, match="at most 10000 bytes"):
        check_photo(b"\xff\xd8\xff" + bytes(10_000), LIMITS)
    with pytest.raises(UnsupportedPhoto, match="not a JPEG, PNG or WebP"):
        check_photo(b"%PDF-1.7 pretending to be photo.jpg", LIMITS)
    with pytest.raises(UnsupportedPhoto, match="not a readable PNG"):
        check_photo(png()[:40], LIMITS)
    with pytest.raises(UnsupportedPhoto, match="not a readable JPEG"):
        check_photo(jpeg()[:30], LIMITS)
    with pytest.raises(Invalid, match="at most 2 photos"):
        check_count(2, 1, LIMITS)
    check_count(1, 1, LIMITS)
