"""The API's models of the content workflow (Điều 10.1) and the suppliers."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from fleet_server.content.schemas import Language, Sha256, Title

#: workflow.STATES, categories.BY_CODE, SUB_BY_CODE, obligations.OBLIGATIONS as
#: types (a test keeps them equal)
StateName = Literal["submitted", "under_appraisal", "approved", "returned", "retired"]
CategoryCode = Literal["policy", "local", "public_access", "border_external", "advertising"]
SubcategoryCode = Literal[
    "projects", "knowledge", "security", "disaster", "exemplary", "law_enforcement",
    "goods_services",
]  # fmt: skip
ObligationName = Literal["quarterly", "monthly", "none"]
Comment = Annotated[str, Field(max_length=4000, pattern=r"^[^\x00]*$")]
Name = Annotated[str, Field(min_length=1, max_length=200, pattern=r"^[^\x00]*\S[^\x00]*$")]


class EventOut(BaseModel):
    at: datetime
    actor: str
    action: str
    from_state: str | None
    to_state: str
    comment: str
    sha256: str | None


class SubmissionOut(BaseModel):
    id: int
    title: str
    category: str | None
    subcategory: str | None
    #: Điều 7's clause or point, e.g. "Điều 7.2.d"
    article: str | None = None
    #: what compliance counts it as, derived from the category
    kind: str
    language: str
    sha256: str
    description: str
    supplier_id: int | None
    supplier_name: str | None
    state: str
    submitted_by: str
    submitted_at: datetime
    updated_at: datetime
    #: the registry item once approved
    content_id: int | None
    history: list[EventOut] = Field(default_factory=list)


class SubmissionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: Title
    category: CategoryCode
    subcategory: SubcategoryCode | None = Field(default=None, description="Điều 7.2's point")
    language: Language
    sha256: Sha256
    description: Comment = ""
    supplier_id: int | None = Field(
        default=None,
        ge=1,
        le=2**62,
        description="for the Department's accounts: the unit it came from (none: its own)",
    )


class ResubmitIn(BaseModel):
    """What changes with the resubmission; omitted fields stay."""

    model_config = ConfigDict(extra="forbid")

    title: Title | None = None
    category: CategoryCode | None = None
    subcategory: SubcategoryCode | None = None
    language: Language | None = None
    sha256: Sha256 | None = None
    description: Comment | None = None
    comment: Comment = ""


class CommentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    comment: Comment = ""


class ReturnIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    comment: Annotated[str, Field(min_length=1, max_length=4000, pattern=r"^[^\x00]*\S[^\x00]*$")]


class ApproveIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    valid_from: AwareDatetime | None = Field(default=None, description="default now")
    valid_to: AwareDatetime | None = Field(default=None, description="none: no end")
    from_department: bool | None = Field(
        default=None, description="default: true for the Department's own items (no supplier)"
    )
    comment: Comment = ""


class SupplierOut(BaseModel):
    id: int
    name: str
    organisation_id: int | None
    obligation: str
    #: Điều 10.1.b or 10.1.c
    article: str
    min_items: int
    contact_id: int | None
    obligation_from: date
    active: bool
    #: the due date of the current period (None: no obligation)
    next_due: date | None = None


class SupplierIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Name
    organisation_id: int | None = Field(default=None, ge=1, le=2**62)
    obligation: ObligationName
    min_items: int = Field(default=1, ge=1, le=100)
    contact_id: int | None = Field(default=None, ge=1, le=2**62)
    obligation_from: date | None = Field(default=None, description="default today")
    active: bool = True


class SupplierPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Name | None = None
    organisation_id: int | None = Field(default=None, ge=1, le=2**62)
    obligation: ObligationName | None = None
    min_items: int | None = Field(default=None, ge=1, le=100)
    contact_id: int | None = Field(default=None, ge=1, le=2**62)
    obligation_from: date | None = None
    active: bool | None = None


class OverdueOut(BaseModel):
    supplier_id: int
    supplier_name: str
    obligation: str
    article: str
    period: str
    period_starts: date
    due: date
    required: int
    submitted: int
