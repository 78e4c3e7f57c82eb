"""What the console shows of queued notices: one outbox row with its
recipient and its newest delivery attempt."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel

#: The outbox states, as the notices view filters them ('confirming': the
#: provider accepted the message and is to confirm its delivery).
NOTICE_STATES = ("pending", "sending", "confirming", "sent", "failed", "cancelled")


class NoticeOut(BaseModel):
    id: int
    kind: str
    channel: str
    state: str
    contact_id: int
    contact_name: str
    language: str
    subject: str
    body_text: str
    created_at: datetime
    available_at: datetime
    sent_at: datetime | None
    attempts: int
    last_error: str | None
    incident_id: int | None
    ticket_id: int | None
    site_id: int | None
    board_id: str | None
    #: the newest delivery attempt: when, whether it was accepted, and what
    #: the server answered or why it failed
    attempted_at: datetime | None = None
    attempt_ok: bool | None = None
    attempt_error: str | None = None
    attempt_response: str | None = None


class NoticeFilter(BaseModel):
    """Which notices a list shows (None: any)."""

    state: str | None = None
    kind: str | None = None
    incident_id: int | None = None
    ticket_id: int | None = None
