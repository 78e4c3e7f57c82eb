"""The API's request and response models for accounts and logins."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, Field, field_validator

from fleet_server.users.models import MAX_ID, NO_NUL, USERNAME, Role, check_email
from fleet_server.vocabulary import Language

SiteIds = list[Annotated[int, Field(ge=1, le=MAX_ID)]]


class UserOut(BaseModel):
    id: int
    username: str
    full_name: str
    email: str | None
    role: Role
    organisation_id: int | None
    team: str | None
    language: Language
    active: bool
    #: Sites given to the account one by one (on top of its organisation's).
    site_ids: list[int]
    failed_logins: int
    locked_until: datetime | None
    #: Locked out now after repeated failed logins.
    locked: bool
    password_changed_at: datetime
    created_at: datetime
    updated_at: datetime


class UserCreate(BaseModel):
    username: str = Field(
        pattern=USERNAME, description="3-64 of a-z 0-9 . _ -, starting with a letter or digit"
    )
    full_name: str = Field(min_length=1, max_length=200, pattern=NO_NUL)
    email: str | None = Field(default=None, max_length=254)
    role: Role
    organisation_id: int | None = Field(default=None, ge=1, le=MAX_ID)
    password: str = Field(min_length=1, max_length=1000)
    team: str | None = Field(default=None, min_length=1, max_length=100, pattern=NO_NUL)
    language: Language = "vi"
    site_ids: SiteIds = Field(default_factory=list, max_length=500)

    @field_validator("username", mode="before")
    @classmethod
    def _lower(cls, value: Any) -> Any:
        return value.strip().lower() if isinstance(value, str) else value

    @field_validator("email")
    @classmethod
    def _check_email(cls, value: str | None) -> str | None:
        return check_email(value)


class UserPatch(BaseModel):
    """Only the fields given change; ``null`` clears email, organisation_id or team."""

    full_name: str | None = Field(default=None, min_length=1, max_length=200, pattern=NO_NUL)
    email: str | None = Field(default=None, max_length=254)
    role: Role | None = None
    organisation_id: int | None = Field(default=None, ge=1, le=MAX_ID)
    team: str | None = Field(default=None, min_length=1, max_length=100, pattern=NO_NUL)
    language: Language | None = None
    active: bool | None = None
    site_ids: SiteIds | None = Field(default=None, max_length=500)

    @field_validator("email")
    @classmethod
    def _check_email(cls, value: str | None) -> str | None:
        return check_email(value)


class PasswordReset(BaseModel):
    new_password: str = Field(min_length=1, max_length=1000)


class TokenOut(BaseModel):
    access_token: str
    token_type: str = "bearer"  # noqa: S105 - the OAuth2 token type, not a secret
    expires_in: int
    expires_at: datetime


class Me(BaseModel):
    id: int
    username: str
    full_name: str
    role: str
    organisation_id: int | None
    team: str | None
    language: str
    site_ids: list[int]
    province_wide: bool
    capabilities: list[str]


class PasswordChange(BaseModel):
    current_password: str = Field(min_length=1, max_length=1000)
    new_password: str = Field(min_length=1, max_length=1000)
