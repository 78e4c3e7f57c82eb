"""The provisioning list's row and the lifecycle status each board is in
(the status is worked out in SQL: ``storage_list.STATUS_SQL``)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal, get_args

from pydantic import BaseModel

#: removed: account deleted, history kept; disabled: refused by the broker;
#: pending: credentials issued (or rotated) and the board has not connected
#: since; connected: it has; legacy: a board from before provisioning.
ProvisionStatus = Literal["pending", "connected", "disabled", "removed", "legacy"]
PROVISION_STATUSES: tuple[ProvisionStatus, ...] = get_args(ProvisionStatus)


class ProvisionedBoard(BaseModel):
    id: str
    name: str
    site_id: int
    site_code: str
    site_name: str
    site_name_en: str | None
    enabled: bool
    auth: Literal["password", "certificate"] | None
    cert_not_after: datetime | None
    provisioned_at: datetime | None
    credentials_rotated_at: datetime | None
    disabled_at: datetime | None
    removed_at: datetime | None
    last_seen_at: datetime | None
    status: ProvisionStatus
