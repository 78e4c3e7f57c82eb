"""Who a test acts as when it calls a service directly, not through the API."""

from __future__ import annotations

from fleet_server.access.principal import Principal
from fleet_server.access.roles import CAPABILITIES


def province_admin(user_id: int = 1, username: str = "quan.tri") -> Principal:
    """An administrator who sees the whole province."""
    return Principal(
        user_id=user_id,
        username=username,
        full_name="Quản trị",
        role="admin",
        organisation_id=None,
        team=None,
        language="vi",
        province_wide=True,
        capabilities=CAPABILITIES["admin"],
    )
