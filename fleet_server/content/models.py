"""What the registry holds and the rules a new or changed item must pass.
Domain logic only: no SQL, no HTTP."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import date, datetime, time
from pathlib import Path
from typing import Any, Literal

from fleet_server.errors import RequestError
from fleet_server.localtime import LOCAL_TZ

Kind = Literal["propaganda", "advertising", "emergency"]
KINDS: tuple[Kind, ...] = ("propaganda", "advertising", "emergency")

#: The languages content may be approved in (docs/content.md): Vietnamese,
#: the province's ethnic-minority languages by ISO 639-3 code, and the
#: bilingual Vietnamese–English and Vietnamese–Chinese content of the border
#: gates. code -> (Vietnamese name, English name).
LANGUAGES: dict[str, tuple[str, str]] = {
    "vi": ("Tiếng Việt", "Vietnamese"),
    "hmn": ("Tiếng Mông", "Hmong"),
    # The Thái of Lai Châu: the collective code when the variety is not told
    # apart, else Thái Đen (Black Tai) or Thái Trắng (White Tai).
    "tai": ("Tiếng Thái", "Tai (Thái)"),
    "blt": ("Tiếng Thái Đen", "Tai Dam (Black Tai)"),
    "twh": ("Tiếng Thái Trắng", "Tai Dón (White Tai)"),
    "ium": ("Tiếng Dao", "Iu Mien (Dao)"),
    "hni": ("Tiếng Hà Nhì", "Hani (Hà Nhì)"),
    "khb": ("Tiếng Lự", "Tai Lü (Lự)"),
    "lhu": ("Tiếng La Hủ", "Lahu (La Hủ)"),
    "kjg": ("Tiếng Khơ Mú", "Khmu (Khơ Mú)"),
    "vi-en": ("Tiếng Việt – tiếng Anh", "Vietnamese–English"),
    "vi-zh": ("Tiếng Việt – tiếng Trung", "Vietnamese–Chinese"),
}

SHA256 = re.compile(r"^[0-9a-f]{64}$")
TITLE_MAX = 300

Reason = Literal["invalid", "duplicate", "not_found", "played", "retired", "bad_file"]


#: How the API answers each reason: (HTTP status, problem kind, title); any
#: other reason (``bad_file``) is a 400.
ANSWERS: dict[str, tuple[int, str, str | None]] = {
    "invalid": (422, "validation", "Invalid request"),
    "not_found": (404, "not-found", None),
    "duplicate": (409, "conflict", None),
    "played": (409, "conflict", None),
    "retired": (409, "conflict", None),
}


class ContentError(RequestError):
    """A registry change refused: ``reason`` says why, ``field`` which input
    (None when it is not one field's fault). The reason gives the HTTP status
    and the problem document's members (``ANSWERS``): a bad value is a
    validation problem listing the field under ``errors``; a missing item a
    plain 404; the others carry ``reason`` (and ``field``)."""

    def __init__(self, reason: Reason, detail: str, *, field: str | None = None) -> None:
        extra: dict[str, Any]
        if reason == "invalid":
            extra = {"errors": [{"field": field or "body", "message": detail}]}
        elif reason == "not_found":
            extra = {}
        else:
            extra = {"reason": reason, **({"field": field} if field else {})}
        super().__init__(detail, **extra)
        self.status, self.kind, self.title = ANSWERS.get(reason, (400, "bad-request", None))
        self.reason: Reason = reason
        self.field = field


def invalid(field: str, detail: str) -> ContentError:
    return ContentError("invalid", f"{field}: {detail}", field=field)


Status = Literal["upcoming", "valid", "expired"]


def validity_status(valid_from: datetime, valid_to: datetime | None, now: datetime) -> Status:
    """Where ``now`` falls in an item's validity."""
    if now < valid_from:
        return "upcoming"
    if valid_to is not None and now >= valid_to:
        return "expired"
    return "valid"


@dataclass(frozen=True, slots=True)
class ContentItem:
    """One row of the registry."""

    id: int
    title: str
    kind: str
    language: str
    sha256: str
    valid_from: datetime
    valid_to: datetime | None
    from_department: bool
    approved_by: str
    approved_at: datetime

    def status(self, now: datetime) -> Status:
        return validity_status(self.valid_from, self.valid_to, now)

    def audit_view(self) -> dict[str, Any]:
        return {
            "title": self.title,
            "kind": self.kind,
            "language": self.language,
            "sha256": self.sha256,
            "valid_from": self.valid_from.isoformat(),
            "valid_to": self.valid_to.isoformat() if self.valid_to else None,
            "from_department": self.from_department,
            "approved_by": self.approved_by,
        }


@dataclass(frozen=True, slots=True)
class NewContent:
    """An item to approve, checked (``check``) before it is stored."""

    title: str
    kind: str
    language: str
    sha256: str
    valid_from: datetime
    valid_to: datetime | None = None
    from_department: bool = False

    def checked(self) -> NewContent:
        """The same item normalised (hash lowercased, title trimmed), or a
        ContentError naming the first bad field."""
        return NewContent(
            title=check_title(self.title),
            kind=check_kind(self.kind),
            language=check_language(self.language),
            sha256=check_sha256(self.sha256),
            valid_from=check_aware("valid_from", self.valid_from),
            valid_to=check_validity(self.valid_from, self.valid_to),
            from_department=self.from_department,
        )


def check_title(title: str) -> str:
    text = title.strip()
    if not text:
        raise invalid("title", "is required")
    if len(text) > TITLE_MAX:
        raise invalid("title", f"at most {TITLE_MAX} characters")
    if "\x00" in text:
        raise invalid("title", "may not contain NUL characters")
    return text


def check_kind(kind: str) -> str:
    value = kind.strip().lower()
    if value not in KINDS:
        raise invalid("kind", f"{kind[:40]!r} is not one of {', '.join(KINDS)}")
    return value


def check_language(language: str) -> str:
    value = language.strip().lower()
    if value not in LANGUAGES:
        raise invalid(
            "language", f"{language[:40]!r} is not one of {', '.join(LANGUAGES)} (docs/content.md)"
        )
    return value


def normalise_sha256(value: str) -> str:
    """Hashes are compared lowercase; tools such as certutil print uppercase."""
    return value.strip().lower()


def check_sha256(sha256: str) -> str:
    value = normalise_sha256(sha256)
    if not SHA256.match(value):
        raise invalid("sha256", "must be 64 hexadecimal digits (the file's SHA-256)")
    return value


def check_aware(field: str, value: datetime) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise invalid(field, "give a time zone (e.g. 2026-12-01T00:00:00+07:00)")
    return value


def check_validity(valid_from: datetime, valid_to: datetime | None) -> datetime | None:
    check_aware("valid_from", valid_from)
    if valid_to is None:
        return None
    check_aware("valid_to", valid_to)
    if valid_to <= valid_from:
        raise invalid("valid_to", "must be after valid_from")
    return valid_to


def parse_when(field: str, text: str) -> datetime:
    """A date (local midnight), a local date and time, or an ISO 8601 time
    with its offset, as people type them on the command line or in a sheet."""
    value = text.strip()
    try:
        if len(value) == 10:
            return datetime.combine(date.fromisoformat(value), time(), LOCAL_TZ)
        parsed = datetime.fromisoformat(value.replace(" ", "T", 1))
    except ValueError:
        raise invalid(
            field, f"{value[:40]!r} is not a date (YYYY-MM-DD) or time (YYYY-MM-DDTHH:MM)"
        ) from None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=LOCAL_TZ)


def parse_flag(field: str, text: str | None) -> bool:
    value = (text or "").strip().lower()
    if value in ("", "0", "false", "no", "n", "không"):
        return False
    if value in ("1", "true", "yes", "y", "x", "có"):
        return True
    raise invalid(field, f"{value[:20]!r} is not yes/no (true, false, 1, 0)")


def file_sha256(path: Path) -> str:
    """The SHA-256 of a file, read in chunks (video files are large)."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()
