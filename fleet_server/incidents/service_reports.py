"""A person reports an incident, and photos are attached to incidents
(Điều 9.3):

    "Cá nhân tham gia thực hiện nhiệm vụ trên Cụm Thông tin điện tử công cộng
    phải tuân thủ theo Điều 7 Luật An toàn thông tin mạng năm 2015; Điều 8
    Luật An ninh mạng năm 2018; khi phát hiện có sự cố mất an toàn thông tin
    trên hệ thống thiết bị phải kịp thời báo cho Cơ quan quản lý, vận hành để
    phối hợp với các cơ quan, đơn vị có liên quan xử lý theo quy định pháp
    luật."

A report is opened through ``lifecycle.open_incident``, so it is routed and
notified exactly like a rule's incident, and audited. The target must lie in
the reporter's scope (else: not found); a Border Guard officer reports camera
and screen problems at the sites their unit guards.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import psycopg

from fleet_server.access import audit
from fleet_server.access.principal import Actor, Principal
from fleet_server.errors import Conflict, Forbidden, Invalid, NotFound
from fleet_server.incidents import lifecycle, service, storage_reports
from fleet_server.incidents.models import (
    GUARD_CATEGORIES,
    REPORT_CLASSES,
    REPORT_DEDUPE_S,
    REPORT_KEY_PREFIX,
    IncidentSpec,
    report_rule,
)
from fleet_server.incidents.photos import Photo, PhotoLimits, check_count, check_photo
from fleet_server.incidents.schemas import IncidentDetail, ReportBody
from fleet_server.incidents.storage import Conn


@dataclass(frozen=True, slots=True)
class Target:
    """A site a person may report on, with its boards."""

    site_id: int
    name: str
    name_en: str | None
    boards: list[tuple[str, str]] = field(default_factory=list)


def report_targets(conn: Conn, user: Principal) -> list[Target]:
    """The sites (and their boards) the caller may report an incident on."""
    user.need("incident.report")
    found: dict[int, Target] = {}
    for site_id, name, name_en, board_id, board_name in storage_reports.targets(conn, user.scope):
        target = found.setdefault(site_id, Target(site_id, name, name_en))
        if board_id is not None:
            target.boards.append((board_id, board_name or board_id))
    return list(found.values())


def check_photos(files: Sequence[bytes], limits: PhotoLimits) -> list[Photo]:
    """Each file checked (empty, too large, not a JPEG/PNG/WebP), in order."""
    check_count(len(files), 0, limits)
    return [check_photo(data, limits, name=f"photo {n}") for n, data in enumerate(files, 1)]


def _fingerprint(user: Principal, body: ReportBody) -> str:
    parts = (
        user.username,
        body.board_id or "",
        str(body.site_id or ""),
        body.category,
        " ".join(body.title.split()).casefold(),
        " ".join(body.description.split()).casefold(),
    )
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()


def _place(conn: Conn, user: Principal, body: ReportBody) -> storage_reports.Place:
    scope = user.scope
    if body.board_id is not None:
        place = storage_reports.board_place(conn, scope, body.board_id)
        if place is None:
            raise NotFound("board", body.board_id)
        return place
    assert body.site_id is not None
    place = storage_reports.site_place(conn, scope, body.site_id)
    if place is None:
        raise NotFound("site", body.site_id)
    return place


def _earlier(
    conn: Conn, user: Principal, key: str | None, fingerprint: str, now: datetime
) -> int | None:
    if key is not None:
        return storage_reports.reported_by_key(conn, user.username, key)
    since = now - timedelta(seconds=REPORT_DEDUPE_S)
    return storage_reports.reported_by_fingerprint(conn, fingerprint, since)


def report_incident(
    conn: Conn,
    user: Principal,
    actor: Actor,
    body: ReportBody,
    *,
    now: datetime,
    photos: Sequence[Photo] = (),
    client_key: str | None = None,
) -> tuple[IncidentDetail, bool]:
    """Open the incident a person reports, with its photos (already checked);
    (the incident, True) — or (the incident an earlier identical report
    opened, False): the same client key, or without one the same report
    within ``REPORT_DEDUPE_S``."""
    user.need("incident.report")
    if user.scope.camera_incidents_only and body.category not in GUARD_CATEGORIES:
        raise Forbidden(
            f"the {user.role} role reports camera or screen problems only"
            f" ({', '.join(GUARD_CATEGORIES)})"
        )
    if body.observed_at is not None and body.observed_at > now + timedelta(minutes=5):
        raise Invalid("observed_at lies in the future", field="observed_at")
    board_id, site_id, organisation_id = _place(conn, user, body)
    key = client_key or body.client_key
    fingerprint = _fingerprint(user, body)
    earlier = _earlier(conn, user, key, fingerprint, now)
    if earlier is not None:
        return service.get_incident(conn, user, earlier), False
    description = body.description.strip()
    spec = IncidentSpec(
        dedupe_key=REPORT_KEY_PREFIX + secrets.token_hex(12),
        rule=report_rule(body.category),
        incident_class=REPORT_CLASSES[body.category],
        severity=body.severity,
        title=" ".join(body.title.split()),
        board_id=board_id,
        site_id=site_id,
        organisation_id=organisation_id,
        details={"category": body.category, "reported_by": user.username},
    )
    try:
        with conn.transaction():  # a savepoint: a lost race on the key undoes the incident
            incident, _ = lifecycle.open_incident(conn, spec, now, actor=user.username)
            storage_reports.record_report(
                conn,
                incident.id,
                reporter=user.username,
                reporter_user_id=user.user_id,
                reporter_name=user.full_name or None,
                address=actor.address,
                category=body.category,
                description=description,
                observed_at=body.observed_at,
                client_key=key,
                fingerprint=fingerprint,
                now=now,
            )
    except psycopg.errors.UniqueViolation:
        raced = _earlier(conn, user, key, fingerprint, now)
        if raced is None:
            raise
        return service.get_incident(conn, user, raced), False
    stored = _store(conn, incident.id, photos, uploaded_by=user.username, now=now)
    audit.record(
        conn,
        actor,
        "incident.report",
        target_type="incident",
        target_id=incident.id,
        after={
            "rule": spec.rule,
            "class": spec.incident_class,
            "severity": spec.severity,
            "title": spec.title,
            "board_id": board_id,
            "site_id": site_id,
            "observed_at": body.observed_at,
            "photos": stored,
        },
        detail=description or None,
    )
    return service.get_incident(conn, user, incident.id), True


def _store(
    conn: Conn, incident_id: int, photos: Sequence[Photo], *, uploaded_by: str, now: datetime
) -> list[str]:
    """Store the photos; the hashes of those stored (a photo the incident
    holds already is not stored twice)."""
    stored = []
    for photo in photos:
        sha256 = photo.sha256
        added = storage_reports.add_photo(
            conn,
            incident_id,
            content_type=photo.content_type,
            data=photo.data,
            sha256=sha256,
            uploaded_by=uploaded_by,
            now=now,
        )
        if added is not None:
            stored.append(sha256)
    return stored


def add_photos(
    conn: Conn,
    user: Principal,
    actor: Actor,
    incident_id: int,
    photos: Sequence[Photo],
    *,
    limits: PhotoLimits,
    now: datetime,
) -> IncidentDetail:
    """Attach photos to an unresolved incident the caller sees."""
    user.need("incident.report")
    before = service.get_incident(conn, user, incident_id)
    if before.state == "resolved":
        raise Conflict(f"incident {incident_id} is resolved; photos go with an unresolved one")
    held = storage_reports.photo_count(conn, incident_id, lock=True)
    fresh = [p for p in photos if p.sha256 not in {a.sha256 for a in before.attachments}]
    check_count(len(fresh), held, limits)
    stored = _store(conn, incident_id, fresh, uploaded_by=user.username, now=now)
    if stored:
        lifecycle.comment(
            conn, incident_id, now, actor=user.username, note=f"{len(stored)} photo(s) attached"
        )
        audit.record(
            conn,
            actor,
            "incident.photo",
            target_type="incident",
            target_id=incident_id,
            after={"photos": stored},
        )
    return service.get_incident(conn, user, incident_id)


def photo(conn: Conn, user: Principal, incident_id: int, photo_id: int) -> tuple[str, bytes]:
    """(content type, bytes) of a photo of an incident the caller sees."""
    service.get_incident(conn, user, incident_id)
    found = storage_reports.photo(conn, incident_id, photo_id)
    if found is None:
        raise NotFound("photo", photo_id)
    return found
