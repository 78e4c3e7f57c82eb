"""The API's incident models: the queue's rows, one incident with its
timeline, and the bodies of the operator's actions."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import AwareDatetime, BaseModel, Field, computed_field, model_validator

from fleet_server.engine import offline_verdict, offline_words
from fleet_server.incidents import titles
from fleet_server.incidents.models import ReportCategory
from fleet_server.vocabulary import LANGUAGES, Severity


class CauseLineOut(BaseModel):
    """One piece of evidence: when, the reading as data, and in words."""

    at: datetime
    key: str
    params: dict[str, Any]
    text: dict[str, str]


class OfflineCauseOut(BaseModel):
    """One possible cause of a board being offline, with its confidence
    (high, medium, low) and its evidence."""

    code: str
    confidence: str
    text: dict[str, str]
    lines: list[CauseLineOut]


class OfflineExplanationOut(BaseModel):
    """Why a board (or a site) is offline: the causes, most likely first
    (``unknown`` when nothing points anywhere), what rules others out, and
    when it was revised with the board's readings from the outage."""

    causes: list[OfflineCauseOut]
    ruled_out: list[CauseLineOut]
    summary: dict[str, str]
    revised_at: datetime | None = None


class IncidentOut(BaseModel):
    id: int
    rule: str
    incident_class: str
    severity: str
    state: str
    board_id: str | None
    board_name: str | None
    site_id: int | None
    site_name: str | None
    site_name_en: str | None
    organisation_id: int | None
    parent_id: int | None
    #: Vietnamese and English together ("vi / en"), as before; or what the
    #: person who reported it wrote.
    title: str
    #: The title as data (``incidents.titles``): the rule's title key and its
    #: params; None for a person's report or an incident from before.
    title_key: str | None = None
    title_params: dict[str, Any] = {}
    details: dict[str, Any]
    flapping: bool
    opened_at: datetime
    acknowledged_at: datetime | None
    acknowledged_by: str | None
    resolved_at: datetime | None
    resolved_by: str | None
    resolution_note: str | None
    reopen_count: int
    #: The person who reported it (Điều 9.3); None: opened by a rule.
    reported_by: str | None = None

    @computed_field  # type: ignore[prop-decorator]
    @property
    def cause(self) -> OfflineExplanationOut | None:
        """Why a lost or stale board (or a whole site) went offline, as the
        engine judged it (``details.offline_cause``); None for other rules."""
        stored = self.details.get("offline_cause")
        return offline_explanation(stored) if isinstance(stored, dict) else None

    @computed_field  # type: ignore[prop-decorator]
    @property
    def titles(self) -> dict[str, str]:
        """The title in each language (``vi``, ``en``)."""
        return {
            language: titles.of(
                self.title,
                self.title_key,
                self.title_params,
                language,
                bilingual=self.reported_by is None,
            )
            for language in LANGUAGES
        }


def offline_explanation(stored: dict[str, Any]) -> OfflineExplanationOut:
    """The stored cause in the API's shape, with its words in each language."""
    explanation = offline_verdict.from_json(stored)

    def line(item: offline_verdict.Line) -> CauseLineOut:
        return CauseLineOut(
            at=item.at,
            key=item.key,
            params={
                k: v.isoformat() if isinstance(v, datetime) else v for k, v in item.params.items()
            },
            text={lang: offline_words.line_text(item, lang) for lang in LANGUAGES},
        )

    revised = stored.get("revised_at")
    return OfflineExplanationOut(
        causes=[
            OfflineCauseOut(
                code=c.code,
                confidence=c.confidence,
                text={lang: offline_words.cause_text(c, lang) for lang in LANGUAGES},
                lines=[line(x) for x in c.lines],
            )
            for c in explanation.causes
        ],
        ruled_out=[line(x) for x in explanation.ruled_out],
        summary={lang: offline_words.headline(explanation, lang) for lang in LANGUAGES},
        revised_at=datetime.fromisoformat(revised) if isinstance(revised, str) else None,
    )


class IncidentEvent(BaseModel):
    at: datetime
    kind: str
    actor: str
    note: str | None
    data: dict[str, Any]


class ReportOut(BaseModel):
    """Who reported an incident, when, what they saw (Điều 9.3)."""

    reporter: str
    reporter_name: str | None
    #: Where the report came from (the client's address); shown only to
    #: roles that may change incidents.
    address: str | None
    category: str
    description: str
    observed_at: datetime | None
    reported_at: datetime


class AttachmentOut(BaseModel):
    id: int
    content_type: str
    size_bytes: int
    sha256: str
    uploaded_by: str
    uploaded_at: datetime
    url: str


class IncidentDetail(IncidentOut):
    events: list[IncidentEvent]
    report: ReportOut | None = None
    attachments: list[AttachmentOut] = []


class Note(BaseModel):
    note: str | None = Field(default=None, max_length=2000)


class ResolveBody(BaseModel):
    note: str = Field(min_length=1, max_length=2000, description="what was done; required")


class CommentBody(BaseModel):
    text: str = Field(min_length=1, max_length=4000)


class ReportBody(BaseModel):
    """A person reports an incident on a board or a site (Điều 9.3)."""

    board_id: str | None = Field(default=None, min_length=1, max_length=64)
    site_id: int | None = Field(default=None, ge=1, le=2**62)
    category: ReportCategory
    severity: Severity = "major"
    title: str = Field(min_length=3, max_length=200)
    description: str = Field(default="", max_length=4000)
    observed_at: AwareDatetime | None = Field(
        default=None, description="when the reporter saw it (default: when it is reported)"
    )
    client_key: str | None = Field(
        default=None,
        min_length=8,
        max_length=100,
        pattern=r"^[A-Za-z0-9._:-]+$",
        description="the same key again returns the incident it opened (a double submit "
        "opens one incident); the Idempotency-Key header does the same",
    )

    @model_validator(mode="after")
    def _one_target(self) -> ReportBody:
        if (self.board_id is None) == (self.site_id is None):
            raise ValueError("name either a board (board_id) or a site (site_id)")
        if not self.title.strip():
            raise ValueError("the title cannot be blank")
        return self
