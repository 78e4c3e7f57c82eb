"""Remote commands and versioned desired configuration (docs/commands.md).

``CommandPublisher`` (the API process's MQTT connection), ``CommandService``
(publish now, retry later), ``storage`` (SQL) and ``validation`` (what may be
sent).
"""

from fleet_server.commands.publisher import CommandPublisher, Delivery
from fleet_server.commands.service import CommandService

__all__ = ["CommandPublisher", "CommandService", "Delivery"]
