"""Photos a person attaches to an incident: checked by their content (the
first bytes, never the file name or the declared type), their size, and
cleaned of metadata before they are stored. No IO.

Only JPEG, PNG and WebP are accepted. The metadata a phone writes into a
photo (EXIF with the GPS position and the phone's make and serial, XMP,
text chunks) is removed: a Border Guard officer's photo must not carry the
position of the post it was taken from. A JPEG keeps only its orientation
(rewritten as the one EXIF tag), so a portrait photo is still shown upright.
"""

from __future__ import annotations

import hashlib
import struct
from dataclasses import dataclass

from fleet_server.errors import Invalid, TooLarge

#: Content types by their magic bytes.
JPEG, PNG, WEBP = "image/jpeg", "image/png", "image/webp"
EXTENSIONS = {JPEG: "jpg", PNG: "png", WEBP: "webp"}
NAMES = {JPEG: "JPEG", PNG: "PNG", WEBP: "WebP"}
_PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
#: PNG chunks that carry metadata, not pixels.
_PNG_DROP = {b"eXIf", b"tEXt", b"zTXt", b"iTXt", b"tIME"}
#: JPEG segments that carry metadata: APP1 (EXIF, XMP), APP13 (IPTC), comments.
_JPEG_DROP = {0xE1, 0xED, 0xFE}
_ORIENTATION_TAG = 0x0112


class UnsupportedPhoto(Invalid):
    """The file is not a JPEG, PNG or WebP photo (judged by its content)."""

    status = 415
    kind = "unsupported-media-type"


@dataclass(frozen=True, slots=True)
class PhotoLimits:
    """How large one photo may be, and how many one incident may hold."""

    max_bytes: int = 5 * 1024 * 1024
    max_count: int = 6


@dataclass(frozen=True, slots=True)
class Photo:
    """A checked photo, its metadata removed."""

    content_type: str
    data: bytes

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()


def sniff(data: bytes) -> str | None:
    """The content type the first bytes spell, or None."""
    if data.startswith(b"\xff\xd8\xff"):
        return JPEG
    if data.startswith(_PNG_MAGIC):
        return PNG
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return WEBP
    return None


def check_photo(data: bytes, limits: PhotoLimits, *, name: str = "photo") -> Photo:
    """``data`` as a :class:`Photo`, or the error that names what is wrong:
    empty (400), larger than allowed (413), not a JPEG/PNG/WebP (415), or
    broken (415)."""
    if not data:
        raise Invalid(f"{name} is empty", field="photos")
    if len(data) > limits.max_bytes:
        raise TooLarge(
            f"{name} is {len(data)} bytes; a photo may be at most {limits.max_bytes} bytes",
            errors=[{"field": "photos", "message": "too large"}],
        )
    content_type = sniff(data)
    if content_type is None:
        raise UnsupportedPhoto(
            f"{name} is not a JPEG, PNG or WebP image (judged by its content)", field="photos"
        )
    try:
        cleaned = _STRIP[content_type](data)
    except (ValueError, struct.error, IndexError):
        raise UnsupportedPhoto(
            f"{name} is not a readable {NAMES[content_type]} image", field="photos"
        ) from None
    return Photo(content_type, cleaned)


def check_count(new: int, held: int, limits: PhotoLimits) -> None:
    """Refuse more photos than an incident may hold."""
    if held + new > limits.max_count:
        raise Invalid(
            f"an incident holds at most {limits.max_count} photos ({held} already, {new} sent)",
            field="photos",
        )


# -- removing metadata ------------------------------------------------------------


def _orientation(exif: bytes) -> int | None:
    """The orientation tag of an APP1 EXIF payload (after ``Exif\\0\\0``)."""
    order = {b"II": "<", b"MM": ">"}.get(exif[:2])
    if order is None:
        return None
    (ifd,) = struct.unpack(order + "I", exif[4:8])
    (count,) = struct.unpack(order + "H", exif[ifd : ifd + 2])
    for i in range(count):
        entry = exif[ifd + 2 + 12 * i : ifd + 14 + 12 * i]
        tag, kind = struct.unpack(order + "HH", entry[:4])
        if tag == _ORIENTATION_TAG and kind == 3:
            value: int = struct.unpack(order + "H", entry[8:10])[0]
            return value if 1 <= value <= 8 else None
    return None


def _orientation_segment(value: int) -> bytes:
    """An APP1 segment holding only the orientation tag."""
    tiff = b"MM\x00\x2a" + struct.pack(">I", 8)
    tiff += struct.pack(">H", 1) + struct.pack(">HHIHH", _ORIENTATION_TAG, 3, 1, value, 0)
    tiff += struct.pack(">I", 0)
    payload = b"Exif\x00\x00" + tiff
    return b"\xff\xe1" + struct.pack(">H", len(payload) + 2) + payload


def strip_jpeg(data: bytes) -> bytes:
    out = [b"\xff\xd8"]
    orientation: int | None = None
    pos = 2
    while True:
        if data[pos] != 0xFF:
            raise ValueError("not a JPEG marker")
        while data[pos] == 0xFF:  # fill bytes
            pos += 1
        marker = data[pos]
        pos += 1
        if marker == 0xD9 or 0xD0 <= marker <= 0xD7 or marker == 0x01:
            out.append(bytes((0xFF, marker)))
            if marker == 0xD9:
                return b"".join(out)
            continue
        (length,) = struct.unpack(">H", data[pos : pos + 2])
        if length < 2 or pos + length > len(data):
            raise ValueError("a JPEG segment runs past the end")
        payload = data[pos + 2 : pos + length]
        if marker == 0xDA:  # start of scan: the rest is image data
            if orientation is not None and orientation != 1:
                out.insert(1, _orientation_segment(orientation))
            out.append(b"\xff\xda" + data[pos:])
            return b"".join(out)
        if marker == 0xE1 and payload.startswith(b"Exif\x00\x00") and orientation is None:
            try:
                orientation = _orientation(payload[6:])
            except (struct.error, IndexError):
                orientation = None
        if marker not in _JPEG_DROP:
            out.append(bytes((0xFF, marker)) + data[pos : pos + length])
        pos += length


def strip_png(data: bytes) -> bytes:
    out = [_PNG_MAGIC]
    pos = len(_PNG_MAGIC)
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind = data[pos + 4 : pos + 8]
        end = pos + 12 + length
        if end > len(data):
            raise ValueError("a PNG chunk runs past the end")
        if kind not in _PNG_DROP:
            out.append(data[pos:end])
        pos = end
        if kind == b"IEND":
            return b"".join(out)
    raise ValueError("a PNG without its end chunk")


def strip_webp(data: bytes) -> bytes:
    (size,) = struct.unpack("<I", data[4:8])
    end = min(len(data), 8 + size)
    chunks: list[bytes] = []
    pos = 12
    while pos + 8 <= end:
        kind = data[pos : pos + 4]
        (length,) = struct.unpack("<I", data[pos + 4 : pos + 8])
        stop = pos + 8 + length + (length & 1)
        if pos + 8 + length > end:
            raise ValueError("a WebP chunk runs past the end")
        chunk = data[pos:stop]
        if kind == b"VP8X":
            chunk = chunk[:8] + bytes((chunk[8] & ~0x0C,)) + chunk[9:]  # no EXIF, no XMP
        if kind not in (b"EXIF", b"XMP "):
            chunks.append(chunk)
        pos = stop
    if not chunks:
        raise ValueError("a WebP without image data")
    body = b"WEBP" + b"".join(chunks)
    return b"RIFF" + struct.pack("<I", len(body)) + body


_STRIP = {JPEG: strip_jpeg, PNG: strip_png, WEBP: strip_webp}
