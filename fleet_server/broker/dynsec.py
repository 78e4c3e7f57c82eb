"""Live account management in Mosquitto through its dynamic-security plugin.

The plugin listens on ``$CONTROL/dynamic-security/v1`` for JSON command
batches ``{"commands": [{"command": "createClient", ...}, ...]}`` and answers
every batch with one message on ``$CONTROL/dynamic-security/v1/response``
(QoS 0, to every subscriber of that topic), one entry per command, carrying
the ``correlationData`` string we put in the command and an ``error`` text
when it failed. :class:`DynsecClient` sends batches over an ordinary MQTT
connection with the admin account and matches the answers by
correlationData, so several clients (or threads) may administer at once.

The ACL model (docs/broker.md):

* default access: deny publishClientSend, publishClientReceive and subscribe;
  allow unsubscribe. Every right comes from a role.
* ``board:<id>``: one role per board (Mosquitto 2.0's plugin does not expand
  ``%u``/``%c`` in ACL topics) — publish its own board → server topics,
  subscribe to and receive its own commands, desired config and delivery
  receipts.
* ``fleet-server``: ingest and API — read every board's outbound topics
  (also through ``$share/<group>/...``), write commands, desired config and
  delivery receipts.
* ``fleet-admin``: only ``$CONTROL/dynamic-security/#``.

Board accounts are pinned to the client id equal to their name, so one board
cannot take over (and so disconnect) another board's session.
"""

from __future__ import annotations

import itertools
import json
import logging
import ssl
import threading
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, Literal
from urllib.parse import unquote, urlsplit

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from fleet_protocol.topics import PREFIX, is_device_id, subscription_filters
from fleet_server.errors import BrokerUnavailable, FleetError

log = logging.getLogger(__name__)

CONTROL_TOPIC = "$CONTROL/dynamic-security/v1"
RESPONSE_TOPIC = f"{CONTROL_TOPIC}/response"
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


class DynsecError(FleetError):
    """A dynamic-security command failed; names the command and the broker's text."""

    def __init__(self, command: str, error: str, subject: str | None = None) -> None:
        self.command = command
        self.error = error
        self.subject = subject
        where = f" ({subject})" if subject else ""
        super().__init__(f"dynamic security {command}{where} failed: {error}")


class DynsecTimeout(DynsecError):
    """The broker did not answer in time (plugin not loaded, or no $CONTROL rights)."""


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
BOARD_OUTBOUND = ("state", "telemetry/+", "event/+", "cmd_result", "config/reported")
#: What a board reads (server → board).
BOARD_INBOUND = ("cmd/+", "config/desired", "receipt")


def board_role_name(board_id: str) -> str:
    return f"{BOARD_ROLE_PREFIX}{board_id}"


def _check_board_id(board_id: str) -> str:
    if not is_device_id(board_id):
        # Also guarantees no MQTT wildcard, '/' or '%' ever lands in an ACL topic.
        raise DynsecError("ensure_board", f"{board_id[:80]!r} is not a valid board id")
    return board_id


def board_acls(board_id: str) -> list[Acl]:
    """Exactly the rights of one board, spelled out (no ``%u``)."""
    base = f"{PREFIX}/{_check_board_id(board_id)}"
    acls = [Acl("publishClientSend", f"{base}/{t}") for t in BOARD_OUTBOUND]
    acls.append(Acl("subscribePattern", f"{base}/cmd/+"))
    acls.append(Acl("subscribeLiteral", f"{base}/config/desired"))
    acls.append(Acl("subscribeLiteral", f"{base}/receipt"))
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


# -- the client ---------------------------------------------------------------------------


class DynsecClient:
    """A connection to Mosquitto as the dynamic-security admin.

    ``with DynsecClient(...) as dynsec: dynsec.ensure_board("lc-mlt-01", password)``.
    """

    def __init__(
        self,
        host: str,
        port: int,
        username: str,
        password: str,
        *,
        tls: bool = True,
        ca_file: Path | str | None = None,
        cert_file: Path | str | None = None,
        key_file: Path | str | None = None,
        client_id: str | None = None,
        timeout: float = 10.0,
        protocol: MQTTProtocolVersion = MQTTProtocolVersion.MQTTv5,
        max_payload: int = 48_000,
    ) -> None:
        self.host, self.port, self.username = host, port, username
        self.timeout = timeout
        #: Bytes per command batch; below mosquitto.conf's max_packet_size (64 KiB).
        self.max_payload = max_payload
        self._lock = threading.Condition()
        self._answers: dict[str, dict[str, Any]] = {}
        self._waiting: set[str] = set()
        self._seq = itertools.count(1)
        self._connected = threading.Event()
        self._answered = threading.Event()  # CONNACK of any kind, or the socket closed
        self._subscribed = threading.Event()
        self._connect_reason: ReasonCode | None = None
        self._sub_error: str | None = None
        self._lost = False
        self._prefix = uuid.uuid4().hex[:12]
        self._protocol = protocol
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=client_id or f"fleet-dynsec-{self._prefix}",
            protocol=protocol,
            clean_session=None if protocol == MQTTProtocolVersion.MQTTv5 else True,
        )
        self.client.username_pw_set(username, password)
        if tls:
            self.client.tls_set(
                ca_certs=str(ca_file) if ca_file else None,
                certfile=str(cert_file) if cert_file else None,
                keyfile=str(key_file) if key_file else None,
                tls_version=ssl.PROTOCOL_TLS_CLIENT,
            )
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = self._on_disconnect
        self.client.on_subscribe = self._on_subscribe
        self.client.on_message = self._on_message

    @classmethod
    def from_url(
        cls,
        url: str,
        *,
        password: str | None = None,
        ca_file: Path | str | None = None,
        cert_file: Path | str | None = None,
        key_file: Path | str | None = None,
        timeout: float = 10.0,
    ) -> DynsecClient:
        """``mqtts://admin[:password]@host:8883`` (``mqtt://`` for no TLS)."""
        parts = urlsplit(url)
        if parts.scheme not in ("mqtt", "mqtts") or not parts.hostname:
            raise BrokerUnavailable(f"not an mqtt:// or mqtts:// URL: {parts.scheme}://…")
        if not parts.username:
            raise BrokerUnavailable("the admin URL needs a user name (mqtts://admin@host:8883)")
        secret = password if password is not None else unquote(parts.password or "")
        if not secret:
            raise BrokerUnavailable("no password for the dynamic-security admin account")
        tls = parts.scheme == "mqtts"
        return cls(
            parts.hostname,
            parts.port or (8883 if tls else 1883),
            unquote(parts.username),
            secret,
            tls=tls,
            ca_file=ca_file,
            cert_file=cert_file,
            key_file=key_file,
            timeout=timeout,
        )

    # -- connection -----------------------------------------------------------------------
    def connect(self) -> DynsecClient:
        where = f"{self.username}@{self.host}:{self.port}"
        try:
            self.client.connect(self.host, self.port, keepalive=30)
        except (OSError, ssl.SSLError) as exc:
            raise BrokerUnavailable(f"cannot reach the broker at {where}: {exc}") from exc
        self.client.loop_start()
        if not self._answered.wait(self.timeout) or not self._connected.is_set():
            self.close()
            reason = self._connect_reason
            if reason is not None and reason.is_failure:
                raise BrokerUnavailable(f"broker refused the admin login {where}: {reason}")
            raise BrokerUnavailable(f"no CONNACK from the broker at {where}")
        if not self._subscribed.wait(self.timeout) or self._sub_error:
            self.close()
            raise DynsecError(
                "subscribe",
                self._sub_error or "no SUBACK",
                f"{RESPONSE_TOPIC}: does {self.username!r} hold the {ADMIN_ROLE} role?",
            )
        return self

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()

    def __enter__(self) -> DynsecClient:
        return self.connect()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # paho callbacks (network thread)
    def _on_connect(
        self,
        client: mqtt.Client,
        _u: object,
        _f: object,
        reason: ReasonCode,
        _p: Properties | None,
    ) -> None:
        self._connect_reason = reason
        if reason.is_failure:
            log.warning("dynamic-security admin login refused: %s", reason)
            self._answered.set()
            client.disconnect()
            return
        with self._lock:
            self._lost = False
        client.subscribe(RESPONSE_TOPIC, qos=1)
        self._connected.set()
        self._answered.set()

    def _on_disconnect(
        self, _c: mqtt.Client, _u: object, _f: object, reason: ReasonCode, _p: object
    ) -> None:
        self._answered.set()
        with self._lock:
            self._lost = True
            self._lock.notify_all()

    def _on_subscribe(
        self,
        _c: mqtt.Client,
        _u: object,
        _mid: int,
        reasons: list[ReasonCode],
        _p: Properties | None,
    ) -> None:
        bad = [r for r in reasons if r.is_failure]
        self._sub_error = str(bad[0]) if bad else None
        self._subscribed.set()

    def _on_message(self, _c: mqtt.Client, _u: object, msg: mqtt.MQTTMessage) -> None:
        try:
            doc = json.loads(msg.payload)
            responses = doc.get("responses", [])
        except (ValueError, AttributeError):
            log.warning("unreadable dynamic-security response: %.200r", msg.payload)
            return
        with self._lock:
            for item in responses:
                corr = item.get("correlationData") if isinstance(item, dict) else None
                if isinstance(corr, str) and corr in self._waiting:
                    self._answers[corr] = item
            self._lock.notify_all()

    # -- commands -------------------------------------------------------------------------
    def execute(
        self, commands: Sequence[Mapping[str, Any]], *, check: bool = True
    ) -> list[dict[str, Any]]:
        """Run commands; the answers in command order. With ``check`` the first
        failed command raises :class:`DynsecError` (the others still ran).

        Commands go in batches that fit the broker's ``max_packet_size``
        (a larger PUBLISH makes Mosquitto drop the connection)."""
        if not self._connected.is_set():
            raise BrokerUnavailable("DynsecClient is not connected; call connect() first")
        result: list[dict[str, Any]] = []
        for chunk in _chunks(commands, self.max_payload):
            result += self._run_batch(chunk)
        if check:
            for command, answer in zip(commands, result, strict=True):
                if answer.get("error"):
                    raise DynsecError(
                        str(command.get("command")), str(answer["error"]), _subject(command)
                    )
        return result

    def _run_batch(self, commands: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
        ids = [f"{self._prefix}-{next(self._seq)}" for _ in commands]
        batch = [{**dict(c), "correlationData": cid} for c, cid in zip(commands, ids, strict=True)]
        names = _summary(commands)
        with self._lock:
            self._waiting.update(ids)
        try:
            info = self.client.publish(CONTROL_TOPIC, json.dumps({"commands": batch}), qos=1)
            if info.rc != mqtt.MQTT_ERR_SUCCESS:
                raise BrokerUnavailable(f"cannot send {names}: {mqtt.error_string(info.rc)}")
            with self._lock:
                done = self._lock.wait_for(
                    lambda: all(i in self._answers for i in ids) or self._lost, self.timeout
                )
                answers = [self._answers.get(i) for i in ids]
                lost = self._lost
        finally:
            with self._lock:
                self._waiting.difference_update(ids)
                for i in ids:
                    self._answers.pop(i, None)
        if not done or any(a is None for a in answers):
            if lost:
                raise BrokerUnavailable(f"connection to the broker lost while running {names}")
            raise DynsecTimeout(
                str(commands[0].get("command", "?")),
                f"no answer within {self.timeout:g}s to {names}: is the dynamic-security"
                f" plugin loaded, and may {self.username!r} publish to {CONTROL_TOPIC}?",
            )
        return [a for a in answers if a is not None]

    def command(self, name: str, **args: Any) -> dict[str, Any]:
        """One command; its ``data`` (empty dict when the command returns none)."""
        answer = self.execute([{"command": name, **args}])[0]
        data = answer.get("data")
        return data if isinstance(data, dict) else {}

    # -- reads ----------------------------------------------------------------------------
    def get_client(self, username: str) -> dict[str, Any] | None:
        """The plugin's record of an account (username, clientid, disabled,
        roles, groups), or None when it does not exist."""
        answer = self.execute([{"command": "getClient", "username": username}], check=False)[0]
        if answer.get("error") == "Client not found":
            return None
        if answer.get("error"):
            raise DynsecError("getClient", str(answer["error"]), username)
        client = answer.get("data", {}).get("client")
        return client if isinstance(client, dict) else None

    def get_role(self, rolename: str) -> dict[str, Any] | None:
        answer = self.execute([{"command": "getRole", "rolename": rolename}], check=False)[0]
        if answer.get("error") == "Role not found":
            return None
        if answer.get("error"):
            raise DynsecError("getRole", str(answer["error"]), rolename)
        role = answer.get("data", {}).get("role")
        return role if isinstance(role, dict) else None

    def list_clients(self) -> list[str]:
        """Every account name (in pages of 1000)."""
        names: list[str] = []
        while True:
            data = self.command("listClients", verbose=False, count=1000, offset=len(names))
            page = [str(c) for c in data.get("clients", [])]
            names += page
            if len(page) < 1000 or len(names) >= int(data.get("totalCount", 0)):
                return names

    def get_default_acl_access(self) -> dict[str, bool]:
        data = self.command("getDefaultACLAccess")
        return {a["acltype"]: bool(a["allow"]) for a in data.get("acls", [])}

    # -- writes ---------------------------------------------------------------------------
    def bootstrap_defaults(self) -> None:
        """Deny by default everything but unsubscribe (see DEFAULT_ACL_ACCESS)."""
        acls = [{"acltype": k, "allow": v} for k, v in DEFAULT_ACL_ACCESS.items()]
        self.command("setDefaultACLAccess", acls=acls)

    def ensure_role(self, rolename: str, acls: Iterable[Acl]) -> bool:
        """Create the role or bring its ACLs to exactly ``acls``. True if anything
        changed (a change disconnects the role's clients, so nothing is sent
        when the role is already right)."""
        want = {(a.acltype, a.topic): a for a in acls}
        role = self.get_role(rolename)
        if role is None:
            self.command("createRole", rolename=rolename, acls=[a.as_json() for a in want.values()])
            return True
        have = {(a.acltype, a.topic): a for a in map(Acl.from_json, role.get("acls", []))}
        commands: list[dict[str, Any]] = [
            {"command": "removeRoleACL", "rolename": rolename, "acltype": t, "topic": topic}
            for (t, topic), acl in have.items()
            if want.get((t, topic)) != acl
        ]
        commands += [
            {"command": "addRoleACL", "rolename": rolename, **acl.as_json()}
            for key, acl in want.items()
            if have.get(key) != acl
        ]
        self.execute(commands)
        return bool(commands)

    def ensure_account(
        self,
        username: str,
        password: str | None,
        roles: Sequence[str],
        *,
        clientid: str | None = None,
        textname: str | None = None,
    ) -> bool:
        """Create the account with ``roles`` or add the missing ones (extra roles
        are left alone); set the password when one is given. True if changed."""
        client = self.get_client(username)
        if client is None:
            args: dict[str, Any] = {
                "username": username,
                "roles": [{"rolename": r} for r in roles],
            }
            if password is not None:
                args["password"] = password
            if clientid is not None:
                args["clientid"] = clientid
            if textname is not None:
                args["textname"] = textname
            self.command("createClient", **args)
            return True
        have = {r.get("rolename") for r in client.get("roles", [])}
        commands: list[dict[str, Any]] = [
            {"command": "addClientRole", "username": username, "rolename": r}
            for r in roles
            if r not in have
        ]
        if clientid is not None and client.get("clientid") != clientid:
            commands.append({"command": "setClientId", "username": username, "clientid": clientid})
        if password is not None:
            commands.append(
                {"command": "setClientPassword", "username": username, "password": password}
            )
        self.execute(commands)
        return bool(commands)

    def ensure_board(self, board_id: str, password: str | None) -> None:
        """The board's role ``board:<id>`` with exactly its ACLs, and its account
        (pinned to client id ``<id>``) holding that role. ``password=None``: a
        certificate board (no password login) or keep the current password.
        Idempotent; does not enable a disabled board. Refuses to turn a
        non-board account (admin, server) into a board."""
        _check_board_id(board_id)
        role = board_role_name(board_id)
        client = self.get_client(board_id)
        if client is not None:
            others = {str(r.get("rolename")) for r in client.get("roles", [])} - {role}
            if others:
                raise DynsecError(
                    "ensure_board",
                    f"account {board_id!r} exists with other roles {sorted(others)};"
                    " it is not a board account",
                    board_id,
                )
        self.ensure_role(role, board_acls(board_id))
        self.ensure_account(
            board_id, password, [role], clientid=board_id, textname=f"board {board_id}"
        )

    def ensure_server_role(self) -> bool:
        """Bring the ``fleet-server`` role to exactly :func:`server_acls`, e.g.
        after an upgrade gave the server a new right (publishing delivery
        receipts). True if it changed: the broker then drops the server's
        connections, which reconnect at once."""
        return self.ensure_role(SERVER_ROLE, server_acls())

    def sync_acls(self, board_ids: Iterable[str]) -> tuple[bool, list[str]]:
        """After an upgrade that changed the ACL model (e.g. delivery receipts):
        the server role and every listed board's role brought to exactly what
        this version grants. Only roles change — a disabled board's account
        keeps no role, so it gains no right. Returns (server role changed,
        boards whose role changed); each changed role's clients are dropped
        once by the broker and reconnect."""
        server = self.ensure_server_role()
        changed = [
            board_id
            for board_id in board_ids
            if self.ensure_role(board_role_name(_check_board_id(board_id)), board_acls(board_id))
        ]
        return server, changed

    def set_password(self, username: str, password: str) -> None:
        """New password; the broker disconnects the account's open connections."""
        self.command("setClientPassword", username=username, password=password)

    def disable_client(self, username: str) -> None:
        """Refuse further password logins and disconnect the open ones at once."""
        self.command("disableClient", username=username)

    def enable_client(self, username: str) -> None:
        self.command("enableClient", username=username)

    def disable_board(self, board_id: str) -> None:
        """Disable and disconnect a board, password or certificate.

        Mosquitto 2.0.11 does not run the plugin's login check on the
        certificate listener (``use_identity_as_username``), so a disabled
        certificate board could still connect; taking its role away leaves it
        with no right at all. Revoke its certificate too (CRL + SIGHUP)."""
        role = board_role_name(board_id)
        self.execute(
            [
                {"command": "removeClientRole", "username": board_id, "rolename": role},
                {"command": "disableClient", "username": board_id},
            ]
        )

    def enable_board(self, board_id: str) -> None:
        self.ensure_role(board_role_name(board_id), board_acls(board_id))
        client = self.get_client(board_id)
        if client is None:
            raise DynsecError("enableClient", "Client not found", board_id)
        role = board_role_name(board_id)
        commands: list[dict[str, Any]] = []
        if role not in {r.get("rolename") for r in client.get("roles", [])}:
            commands.append({"command": "addClientRole", "username": board_id, "rolename": role})
        commands.append({"command": "enableClient", "username": board_id})
        self.execute(commands)

    def delete_board(self, board_id: str) -> bool:
        """Delete the board's account (disconnecting it) and its role. False if
        neither existed."""
        _check_board_id(board_id)
        answers = self.execute(
            [
                {"command": "deleteClient", "username": board_id},
                {"command": "deleteRole", "rolename": board_role_name(board_id)},
            ],
            check=False,
        )
        gone = 0
        for answer, missing in zip(answers, ("Client not found", "Role not found"), strict=True):
            error = answer.get("error")
            if error == missing:
                gone += 1
            elif error:
                raise DynsecError(str(answer.get("command")), str(error), board_id)
        return gone < 2


def _subject(command: Mapping[str, Any]) -> str | None:
    for key in ("username", "rolename", "groupname"):
        value = command.get(key)
        if isinstance(value, str):
            return value
    return None


def _summary(commands: Sequence[Mapping[str, Any]]) -> str:
    """``[createRole x2, createClient x2]`` — short enough for an error message."""
    counts: dict[str, int] = {}
    for c in commands:
        name = str(c.get("command"))
        counts[name] = counts.get(name, 0) + 1
    return "[" + ", ".join(f"{n} x{k}" if k > 1 else n for n, k in counts.items()) + "]"


def _chunks(
    commands: Sequence[Mapping[str, Any]], limit: int
) -> Iterable[Sequence[Mapping[str, Any]]]:
    """Consecutive runs of commands whose JSON batch stays under ``limit`` bytes."""
    chunk: list[Mapping[str, Any]] = []
    size = 0
    for command in commands:
        # + correlationData and separators
        cost = len(json.dumps(command).encode()) + 64
        if chunk and size + cost > limit:
            yield chunk
            chunk, size = [], 0
        chunk.append(command)
        size += cost
    if chunk:
        yield chunk
