"""What each Mosquitto account may do, through dynamic-security roles.

The ACL model (docs/broker.md):

* default access: deny publishClientSend, publishClientReceive and subscribe;
  allow unsubscribe. Every right comes from a role.
* ``board:<id>``: one role per board (Mosquitto 2.0's plugin does not expand
  ``%u``/``%c`` in ACL topics) — publish its own board → server topics,
  subscribe to and receive its own commands, desired config, delivery
  receipts and ingest's capabilities (the compact encoding).
* ``fleet-server``: ingest and API — read every board's outbound topics
  (also through ``$share/<group>/...``), write commands, desired config,
  delivery receipts and capabilities.
* ``fleet-admin``: only ``$CONTROL/dynamic-security/#``.

Board accounts are pinned to the client id equal to their name, so one board
cannot take over (and so disconnect) another board's session.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from fleet_protocol.topics import PREFIX, is_device_id, subscription_filters
from fleet_server.broker.errors import DynsecError

BOARD_ROLE_PREFIX = "board:"
SERVER_ROLE = "fleet-server"
ADMIN_ROLE = "fleet-admin"

AclType = Literal[
    "publishClientSend",
    "publishClientReceive",
    "subscribeLiteral",
    "subscribePattern",
    "unsubscribeLiteral",
    "unsubscribePattern",
]


@dataclass(frozen=True, slots=True, order=True)
class Acl:
    acltype: AclType
    topic: str
    allow: bool = True
    priority: int = 0

    def as_json(self) -> dict[str, Any]:
        return {
            "acltype": self.acltype,
            "topic": self.topic,
            "allow": self.allow,
            "priority": self.priority,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Acl:
        return cls(
            acltype=data["acltype"],
            topic=data["topic"],
            allow=bool(data.get("allow", False)),
            priority=int(data.get("priority", 0)),
        )


# -- the ACL model ------------------------------------------------------------------------

#: What a board publishes (board → server), relative to ``fleet/v1/<id>/``.
BOARD_OUTBOUND = (
    "state",
    "telemetry/+",
    "event/+",
    "cmd_result",
    "config/reported",
    "snapshot",
    "logs",
    "batch",
)
#: What a board reads (server → board).
BOARD_INBOUND = ("cmd/+", "config/desired", "receipt", "capabilities")


def board_role_name(board_id: str) -> str:
    return f"{BOARD_ROLE_PREFIX}{board_id}"


def check_board_id(board_id: str) -> str:
    if not is_device_id(board_id):
        # Also guarantees no MQTT wildcard, '/' or '%' ever lands in an ACL topic.
        raise DynsecError("ensure_board", f"{board_id[:80]!r} is not a valid board id")
    return board_id


def board_acls(board_id: str) -> list[Acl]:
    """Exactly the rights of one board, spelled out (no ``%u``)."""
    base = f"{PREFIX}/{check_board_id(board_id)}"
    acls = [Acl("publishClientSend", f"{base}/{t}") for t in BOARD_OUTBOUND]
    acls.append(Acl("subscribePattern", f"{base}/cmd/+"))
    acls.append(Acl("subscribeLiteral", f"{base}/config/desired"))
    acls.append(Acl("subscribeLiteral", f"{base}/receipt"))
    acls.append(Acl("subscribeLiteral", f"{base}/capabilities"))
    acls += [Acl("publishClientReceive", f"{base}/{t}") for t in BOARD_INBOUND]
    return sorted(acls)


def server_acls() -> list[Acl]:
    """The fleet server (ingest + API): read every board's outbound topics, also
    through shared subscriptions — Mosquitto 2.0.11 checks the subscribe ACL
    against the whole ``$share/<group>/<filter>`` string — and write commands,
    desired configuration (retained) and ingest's delivery receipts."""
    acls: list[Acl] = []
    for flt in subscription_filters():
        acls.append(Acl("subscribePattern", flt))
        acls.append(Acl("subscribePattern", f"$share/+/{flt}"))
        acls.append(Acl("publishClientReceive", flt))
    acls.append(Acl("publishClientSend", f"{PREFIX}/+/cmd/+"))
    acls.append(Acl("publishClientSend", f"{PREFIX}/+/config/desired"))
    acls.append(Acl("publishClientSend", f"{PREFIX}/+/receipt"))
    acls.append(Acl("publishClientSend", f"{PREFIX}/+/capabilities"))
    return sorted(acls)


def admin_acls() -> list[Acl]:
    """The provisioning account administers the plugin and nothing else."""
    return sorted(
        [
            Acl("publishClientSend", "$CONTROL/dynamic-security/#"),
            Acl("publishClientReceive", "$CONTROL/dynamic-security/#"),
            Acl("subscribePattern", "$CONTROL/dynamic-security/#"),
        ]
    )


#: setDefaultACLAccess: what happens when no role of the client has a matching ACL.
DEFAULT_ACL_ACCESS: dict[str, bool] = {
    # client → broker publish: only what a role grants.
    "publishClientSend": False,
    # broker → client delivery: a second gate behind subscribe (also covers
    # retained messages and subscriptions made before a role was removed).
    "publishClientReceive": False,
    "subscribe": False,
    # Dropping a subscription can never leak anything.
    "unsubscribe": True,
}
