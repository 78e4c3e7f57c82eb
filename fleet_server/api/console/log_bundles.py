"""The board page's "Logs & diagnostics" section (``_logs.html``): the
"collect now" form for ``command.send`` and the bundles the board sent for
``diagnostics.read`` (log_forms.py takes the form and shows a bundle)."""

from __future__ import annotations

from typing import Any

from fleet_server.access.principal import Principal
from fleet_server.api.deps import Conn
from fleet_server.logbundles import service

#: The bundles listed on the board page.
SHOWN = 10
#: The windows offered in the form, in minutes.
MINUTES = (15, 60, 240, 1440)


def board_section(conn: Conn, user: Principal, board_id: str) -> dict[str, Any] | None:
    """What the board page shows (None: neither readable nor askable)."""
    can_read, can_ask = user.can(service.CAPABILITY), user.can("command.send")
    if not (can_read or can_ask):
        return None
    items = service.list_bundles(conn, user, board_id, limit=SHOWN).items if can_read else []
    return {"items": items, "can_read": can_read, "can_ask": can_ask, "minutes": MINUTES}
