"""Small images built byte by byte for the photo tests, with the metadata a
phone writes (EXIF with a GPS position, text chunks)."""

from __future__ import annotations

import struct
import zlib

#: What must never survive into a stored photo.
SECRET = b"GPS 22.3964N 103.4653E SN-PHONE-0042"


def png(*, text: bytes = SECRET, colour: tuple[int, int, int] = (200, 30, 30)) -> bytes:
    """A real 2x2 PNG with a tEXt chunk (and an eXIf chunk) holding ``text``."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    rows = b"".join(b"\x00" + bytes(colour) * 2 for _ in range(2))
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", 2, 2, 8, 2, 0, 0, 0))
        + chunk(b"tEXt", b"Comment\x00" + text)
        + chunk(b"eXIf", b"MM\x00*" + text)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


def _exif(orientation: int, text: bytes) -> bytes:
    """An APP1 EXIF payload: IFD0 with the orientation and an ASCII tag (as a
    phone's make or GPS data would be) pointing at ``text``."""
    entries = 2
    ifd_size = 2 + 12 * entries + 4
    text_at = 8 + ifd_size
    tiff = b"II*\x00" + struct.pack("<I", 8)
    tiff += struct.pack("<H", entries)
    tiff += struct.pack("<HHIHH", 0x0112, 3, 1, orientation, 0)
    tiff += struct.pack("<HHII", 0x010F, 2, len(text), text_at)
    tiff += struct.pack("<I", 0) + text
    return b"Exif\x00\x00" + tiff


def jpeg(*, orientation: int = 6, text: bytes = SECRET) -> bytes:
    """A JPEG's segments (JFIF, EXIF, a comment, a table, the scan): enough
    for the checks, not meant to be decoded."""

    def segment(marker: int, payload: bytes) -> bytes:
        return bytes((0xFF, marker)) + struct.pack(">H", len(payload) + 2) + payload

    return (
        b"\xff\xd8"
        + segment(0xE0, b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00")
        + segment(0xE1, _exif(orientation, text))
        + segment(0xFE, b"comment " + text)
        + segment(0xDB, b"\x00" + bytes(range(64)))
        + segment(0xDA, b"\x01\x01\x00\x00\x3f\x00")
        + b"\x12\x34\x56\x78"
        + b"\xff\xd9"
    )


def webp(*, text: bytes = SECRET) -> bytes:
    """A WebP container: VP8X (EXIF and XMP flags set), image data, EXIF, XMP."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return kind + struct.pack("<I", len(data)) + data + (b"\x00" if len(data) % 2 else b"")

    vp8x = bytes((0x0C, 0, 0, 0)) + b"\x01\x00\x00\x01\x00\x00"
    body = (
        b"WEBP"
        + chunk(b"VP8X", vp8x)
        + chunk(b"VP8L", b"\x2f\x00\x00\x00\x00")
        + chunk(b"EXIF", text)
        + chunk(b"XMP ", text)
    )
    return b"RIFF" + struct.pack("<I", len(body)) + body
