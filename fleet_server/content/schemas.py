"""The API's request and response models of the approved content registry."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import (
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
)

from fleet_server.content.models import SHA256, TITLE_MAX, normalise_sha256

#: models.KINDS and models.LANGUAGES as types (a test keeps them equal)
Kind = Literal["propaganda", "advertising", "emergency"]
Language = Literal[
    "vi", "hmn", "tai", "blt", "twh", "ium", "hni", "khb", "lhu", "kjg", "vi-en", "vi-zh"
]
Sha256 = Annotated[
    str,
    BeforeValidator(lambda v: normalise_sha256(v) if isinstance(v, str) else v),
    Field(pattern=SHA256.pattern, description="the file's SHA-256, 64 hex digits"),
]
Title = Annotated[str, Field(min_length=1, max_length=TITLE_MAX, pattern=r"^[^\x00]*\S[^\x00]*$")]


class ContentOut(BaseModel):
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
    #: a board has shown the file (it cannot be deleted, only retired)
    played: bool


class ContentIn(BaseModel):
    title: Title
    kind: Kind
    language: Language = Field(description="see docs/content.md for the codes")
    sha256: Sha256
    valid_from: AwareDatetime
    valid_to: AwareDatetime | None = Field(default=None, description="none: no end")
    from_department: bool = Field(
        default=False, description="supplied by the provincial Department (annual report)"
    )

    @field_validator("valid_to")
    @classmethod
    def _after_start(cls, value: datetime | None, info: ValidationInfo) -> datetime | None:
        start = info.data.get("valid_from")
        if value is not None and start is not None and value <= start:
            raise ValueError("must be after valid_from")
        return value


class ContentPatch(BaseModel):
    #: the hash, kind and language are what was approved: not changeable
    model_config = ConfigDict(extra="forbid")

    title: Title | None = None
    valid_from: AwareDatetime | None = None
    valid_to: AwareDatetime | None = None
    from_department: bool | None = None


class RetireIn(BaseModel):
    at: AwareDatetime | None = Field(default=None, description="end of validity; default now")
