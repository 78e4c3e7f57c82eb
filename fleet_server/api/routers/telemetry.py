"""/api/v1 telemetry series: one board, one kind, a time range, a bucket
(fleet_server/telemetry/service.py)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query

from fleet_server.access.principal import Principal
from fleet_server.api.deps import Db, Now, require
from fleet_server.telemetry.schemas import Kind, Series
from fleet_server.telemetry.service import series

router = APIRouter(tags=["telemetry"])

Reader = Annotated[Principal, Depends(require("telemetry.read"))]


@router.get(
    "/boards/{board_id}/telemetry/{kind}",
    summary="bucketed telemetry of one board (raw up to 7 days, hourly rollups beyond)",
)
def telemetry_series(
    conn: Db,
    now: Now,
    user: Reader,
    board_id: Annotated[str, Path(max_length=64)],
    kind: Kind,
    since: Annotated[datetime | None, Query(description="default: 24 h before until")] = None,
    until: Annotated[datetime | None, Query(description="default: now")] = None,
    bucket: Annotated[
        int | None, Query(ge=60, le=7 * 86400, description="seconds; default: about 240 points")
    ] = None,
) -> Series:
    until = until or now
    since = since or until - timedelta(hours=24)
    return series(conn, user, board_id, kind, since=since, until=until, bucket_s=bucket)
