"""The registry's rules on their own: hashes, languages, dates as people
type them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from fleet_server.content.models import (
    ContentError,
    NewContent,
    file_sha256,
    parse_flag,
    parse_when,
    validity_status,
)
from fleet_server.errors import RequestError
from fleet_server.localtime import LOCAL_TZ

START = datetime(2026, 12, 1, tzinfo=LOCAL_TZ)


def item(**kw: object) -> NewContent:
    values: dict[str, object] = {
        "title": " Tuyên truyền ",
        "kind": "Propaganda",
        "language": "HMN",
        "sha256": " " + "AB" * 32 + "\n",
        "valid_from": START,
    }
    values.update(kw)
    return NewContent(**values)  # type: ignore[arg-type]


def test_checked_normalises() -> None:
    checked = item().checked()
    assert (checked.title, checked.kind, checked.language, checked.sha256) == (
        "Tuyên truyền",
        "propaganda",
        "hmn",
        "ab" * 32,
    )


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"sha256": "ab" * 33}, "sha256"),
        ({"sha256": "g" * 64}, "sha256"),
        ({"language": "tdd"}, "language"),
        ({"language": "en"}, "language"),
        ({"kind": "music"}, "kind"),
        ({"title": " "}, "title"),
        ({"valid_from": datetime(2026, 12, 1)}, "valid_from"),
        ({"valid_to": START}, "valid_to"),
        ({"valid_to": START - timedelta(days=1)}, "valid_to"),
    ],
)
def test_refusals_name_the_field(change: dict[str, object], field: str) -> None:
    with pytest.raises(ContentError) as caught:
        item(**change).checked()
    assert (caught.value.reason, caught.value.field) == ("invalid", field)
    assert caught.value.detail.startswith(f"{field}: ")


def test_dates_as_typed() -> None:
    assert parse_when("valid_from", "2026-12-01") == START
    assert parse_when("valid_from", "2026-12-01 07:30") == START + timedelta(hours=7, minutes=30)
    assert parse_when("valid_from", "2026-12-01T00:00Z") == datetime(2026, 12, 1, tzinfo=UTC)
    with pytest.raises(ContentError):
        parse_when("valid_from", "1/12/2026")


def test_flags_and_status() -> None:
    assert [parse_flag("f", v) for v in ("", "yes", "Có", "0", "x")] == [
        False,
        True,
        True,
        False,
        True,
    ]
    with pytest.raises(ContentError):
        parse_flag("f", "maybe")
    end = START + timedelta(days=1)
    assert validity_status(START, end, START - timedelta(seconds=1)) == "upcoming"
    assert validity_status(START, end, START) == "valid"
    assert validity_status(START, end, end) == "expired"
    assert validity_status(START, None, end) == "valid"


def test_file_hash(tmp_path: Path) -> None:
    path = tmp_path / "empty.mp4"
    path.write_bytes(b"")
    assert file_sha256(path) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"


@pytest.mark.parametrize(
    ("reason", "field", "status", "kind", "extra"),
    [
        ("invalid", "title", 422, "validation", {"errors": [{"field": "title", "message": "x"}]}),
        ("invalid", None, 422, "validation", {"errors": [{"field": "body", "message": "x"}]}),
        ("not_found", None, 404, "not-found", {}),
        ("duplicate", "sha256", 409, "conflict", {"reason": "duplicate", "field": "sha256"}),
        ("played", None, 409, "conflict", {"reason": "played"}),
        ("retired", None, 409, "conflict", {"reason": "retired"}),
        ("bad_file", None, 400, "bad-request", {"reason": "bad_file"}),
    ],
)
def test_a_refusal_carries_its_problem_document(
    reason: Any, field: str | None, status: int, kind: str, extra: dict[str, Any]
) -> None:
    """ContentError is a RequestError: its reason gives the status and the
    problem's members the API answered with when a router mapped them."""
    error = ContentError(reason, "x", field=field)
    assert isinstance(error, RequestError)
    assert (error.status, error.kind, error.extra) == (status, kind, extra)
    assert error.title == ("Invalid request" if reason == "invalid" else None)
