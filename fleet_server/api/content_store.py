"""The broadcast file archive's store for the API routers and the console
(Điều 9.1; docs/content.md "Broadcast file archive"): built from the
settings at its first use and kept on the application."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from fleet_server.api.deps import context
from fleet_server.content import service_files
from fleet_server.content.files import FileStore


def file_store(request: Request) -> FileStore:
    """The archive's store, built from the settings at its first use."""
    store: FileStore | None = getattr(request.app.state, "content_files", None)
    if store is None:
        store = service_files.store_from_settings(context(request).settings)
        request.app.state.content_files = store
    return store


Store = Annotated[FileStore, Depends(file_store)]
