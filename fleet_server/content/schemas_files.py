"""The API's models of the broadcast file archive (Điều 9.1)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field


class StoredFileOut(BaseModel):
    sha256: str = Field(description="the file's SHA-256: its name in the archive")
    size_bytes: int
    media_type: str
    filename: str = Field(description="the name it was first uploaded under")
    stored_at: datetime
    backend: str = Field(description="local or s3")
    uploaded_by: str
    #: this upload stored it; false: it was already in the archive (nothing changed)
    created: bool
    #: the registry item with this hash, if one
    content_id: int | None = None
