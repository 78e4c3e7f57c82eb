"""Remote commands and versioned desired configuration (docs/commands.md).

``service`` (the operations: send a command, set a desired configuration,
read them), ``CommandPublisher`` (the API process's MQTT connection),
``CommandService`` in ``delivery`` (publish now, retry later), ``storage``
(SQL), ``schemas`` (the API's models) and ``validation`` (what may be sent).
"""

from fleet_server.commands.delivery import CommandService
from fleet_server.commands.publisher import CommandPublisher, Delivery

__all__ = ["CommandPublisher", "CommandService", "Delivery"]
