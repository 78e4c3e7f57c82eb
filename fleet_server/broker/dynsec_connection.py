"""The connection to Mosquitto's dynamic-security plugin.

The plugin listens on ``$CONTROL/dynamic-security/v1`` for JSON command
batches ``{"commands": [{"command": "createClient", ...}, ...]}`` and answers
every batch with one message on ``$CONTROL/dynamic-security/v1/response``
(QoS 0, to every subscriber of that topic), one entry per command, carrying
the ``correlationData`` string we put in the command and an ``error`` text
when it failed. :class:`DynsecClient` sends batches over an ordinary MQTT
connection with the admin account and matches the answers by
correlationData, so several clients (or threads) may administer at once.

The ACL model: ``broker/acls.py``.
"""

from __future__ import annotations

import itertools
import json
import logging
import ssl
import threading
import uuid
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any, Self
from urllib.parse import unquote, urlsplit

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from fleet_server.broker.acls import (
    ADMIN_ROLE,
)
from fleet_server.broker.errors import DynsecError, DynsecTimeout
from fleet_server.errors import BrokerUnavailable

log = logging.getLogger(__name__)

CONTROL_TOPIC = "$CONTROL/dynamic-security/v1"
RESPONSE_TOPIC = f"{CONTROL_TOPIC}/response"


class DynsecConnection:
    """A connection to Mosquitto as the dynamic-security admin that sends
    command batches and matches their answers (``execute``, ``command``);
    :class:`fleet_server.broker.dynsec.DynsecClient` adds the account
    operations."""

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
    ) -> Self:
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
    def connect(self) -> Self:
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

    def __enter__(self) -> Self:
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
