"""The API's rule threshold models (``/api/v1/rules``, ``/api/v1/rule-overrides``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field, model_validator

from fleet_protocol.topics import DEVICE_ID_PATTERN
from fleet_server.thresholds.models import Level, Unit

MAX_ID = 2**62
BOARD_ID = DEVICE_ID_PATTERN


class RuleParamOut(BaseModel):
    name: str
    unit: Unit
    default: float | int | str
    #: The range a number may take (severities: one of the severities).
    low: float | None
    high: float | None
    integer: bool


class RuleOut(BaseModel):
    rule: str
    title_vi: str
    title_en: str
    kind: str
    #: Where it may be overridden: organisation, site, board.
    levels: list[Level]
    params: list[RuleParamOut]


class OverrideOut(BaseModel):
    id: int
    rule: str
    #: Exactly one of organisation_id, site_id and board_id is set.
    organisation_id: int | None
    site_id: int | None
    board_id: str | None
    level: Level
    #: The organisation's, site's or board's name.
    target_name: str
    target_name_en: str | None
    params: dict[str, Any]
    updated_by: str
    updated_at: datetime


class OverrideIn(BaseModel):
    """Set a rule's thresholds for one organisation, site or board; the
    params given replace that target's earlier override of the rule."""

    rule: str = Field(min_length=1, max_length=64)
    organisation_id: int | None = Field(default=None, ge=1, le=MAX_ID)
    site_id: int | None = Field(default=None, ge=1, le=MAX_ID)
    board_id: str | None = Field(default=None, pattern=BOARD_ID)
    params: dict[str, Any] = Field(max_length=20)

    @model_validator(mode="after")
    def _one_target(self) -> OverrideIn:
        given = [v for v in (self.organisation_id, self.site_id, self.board_id) if v is not None]
        if len(given) != 1:
            raise ValueError("give exactly one of organisation_id, site_id and board_id")
        return self

    @property
    def level(self) -> Level:
        if self.board_id is not None:
            return "board"
        return "site" if self.site_id is not None else "organisation"
