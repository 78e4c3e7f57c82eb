"""The API process's one MQTT connection for commands and desired configuration.

``CommandPublisher`` is started lazily (the first publish, or a backlog found at
start-up) and keeps one connection in a thread of its own, reconnecting with
jittered backoff. Every connection uses a *fresh* paho client with a clean
session, so a publish that was not acknowledged before the link dropped is
never re-sent later by paho with its old expiry interval: the command stays
``queued`` in the database, and the retry publishes it again with the time it
has left (``CommandService``).

Commands are QoS 1, not retained, with the MQTT 5 *message expiry interval*
set to the seconds left until ``expires_at`` (rounded up; the payload's exact
``expires_at`` is checked again by the agent, which is also the only guard
on an MQTT 3.1.1 connection). A publish counts as acknowledged only on a
PUBACK without a failure reason code (an MQTT 5 broker that denies the topic
answers 0x87 "Not authorized").
"""

from __future__ import annotations

import itertools
import logging
import math
import os
import ssl
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

import fleet_protocol as fp
from fleet_server.backoff import Backoff
from fleet_server.errors import BrokerUnavailable
from fleet_server.mqtt import MQTT_V5, MQTT_V311, detect_protocol, is_auth_failure
from fleet_server.settings import Settings

log = logging.getLogger(__name__)

_instances = itertools.count(1)

#: PUBACK reason code "No matching subscribers" (MQTT 5, a success code).
NO_MATCHING_SUBSCRIBERS = 0x10


@dataclass(eq=False)
class Delivery:
    """One publish: done when the broker acknowledged it (``ok``) or the
    connection it went out on is gone (not ``ok``)."""

    topic: str
    done: threading.Event = field(default_factory=threading.Event)
    ok: bool = False
    reason: str | None = None
    #: MQTT 5 PUBACK 0x10: accepted, but nobody subscribes to the topic (the
    #: board is not connected and has no persistent session).
    no_subscribers: bool = False

    def wait(self, timeout: float) -> bool:
        """True when the broker acknowledged it within ``timeout`` seconds."""
        self.done.wait(timeout)
        return self.ok

    def _finish(self, ok: bool, reason: str | None = None, no_subscribers: bool = False) -> None:
        if not self.done.is_set():
            self.ok, self.reason, self.no_subscribers = ok, reason, no_subscribers
            self.done.set()


def expiry_interval(expires_at: datetime, now: datetime) -> int:
    """Whole seconds until ``expires_at``, rounded up (0 when already past)."""
    left = (expires_at - now).total_seconds()
    return math.ceil(left) if left > 0 else 0


class CommandPublisher:
    """A long-lived, lazily started, self-reconnecting MQTT publisher."""

    def __init__(
        self,
        settings: Settings,
        *,
        client_id: str | None = None,
        backoff: Backoff | None = None,
    ) -> None:
        self.settings = settings
        # Unique per process and publisher: the broker drops a connection
        # whose client id another one takes over.
        self.client_id = (
            client_id or f"{settings.command_client_id}-{os.getpid()}-{next(_instances)}"
        )[:64]
        self.connected = threading.Event()
        #: set once the first connection attempt has succeeded or failed
        self.settled = threading.Event()
        self.protocol: MQTTProtocolVersion | None = None
        self.last_error: str | None = None
        self._backoff = backoff or Backoff(base=0.5, cap=30.0)
        self._listeners: list[Callable[[], None]] = []
        self._lock = threading.Lock()
        self._pending: dict[int, Delivery] = {}
        self._early: dict[int, tuple[bool, str | None, bool]] = {}
        #: one per connection: a publish made on a connection that is gone fails
        self._generation = 0
        self._client: mqtt.Client | None = None
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()

    # -- lifecycle --------------------------------------------------------------------
    def on_connect(self, listener: Callable[[], None]) -> None:
        """Call ``listener`` (in the network thread; keep it short) after
        every successful connection."""
        self._listeners.append(listener)

    def start(self) -> None:
        """Start the connection thread once; later calls do nothing."""
        with self._lock:
            if self._thread is not None:
                return
            self._thread = threading.Thread(
                target=self._run, args=(self._stop,), name="command-publisher", daemon=True
            )
            self._thread.start()

    @property
    def started(self) -> bool:
        return self._thread is not None

    def close(self, timeout: float = 5.0) -> None:
        """Disconnect and stop the thread; a later publish starts it again."""
        with self._lock:
            thread, self._thread = self._thread, None
        self._stop.set()
        client = self._client
        if client is not None:
            client.disconnect()
        if thread is not None:
            thread.join(timeout)
        self._fail_pending("publisher closed")
        self._stop = threading.Event()

    # -- publishing -------------------------------------------------------------------
    def publish_command(self, request: fp.CommandRequest, now: datetime) -> Delivery | None:
        """Publish a command with the expiry it has left; None when not
        connected or when it has already expired."""
        assert request.expires_at is not None, "commands from the server always expire"
        seconds = expiry_interval(request.expires_at, now)
        if seconds <= 0:
            return None
        topic = fp.command_topic(request.device_id, request.command)
        return self._publish(topic, fp.encode(request), retain=False, expiry_s=seconds)

    def publish_desired(self, desired: fp.ConfigDesired) -> Delivery | None:
        """Publish the desired configuration, retained (no expiry)."""
        topic = fp.config_desired_topic(desired.device_id)
        return self._publish(topic, fp.encode(desired), retain=True, expiry_s=None)

    def wait_started(self, timeout: float) -> None:
        """Start, and wait (at most ``timeout``) for the outcome of the very
        first connection attempt; later calls return at once."""
        self.start()
        self.settled.wait(timeout)

    def _publish(
        self, topic: str, payload: bytes, *, retain: bool, expiry_s: int | None
    ) -> Delivery | None:
        self.start()
        client = self._client
        if client is None or not self.connected.is_set():
            return None
        with self._lock:
            generation = self._generation
        properties = None
        if expiry_s is not None and self.protocol == MQTT_V5:
            properties = Properties(PacketTypes.PUBLISH)  # type: ignore[no-untyped-call]
            properties.MessageExpiryInterval = expiry_s
        info = client.publish(topic, payload, qos=1, retain=retain, properties=properties)
        if info.rc != mqtt.MQTT_ERR_SUCCESS:
            return None  # the link dropped just now: the retry sends it
        delivery = Delivery(topic)
        with self._lock:
            if generation != self._generation:  # that connection is gone already
                early: tuple[bool, str | None, bool] | None = (False, "connection lost", False)
            else:
                early = self._early.pop(info.mid, None)
                if early is None:
                    self._pending[info.mid] = delivery
        if early is not None:
            delivery._finish(*early)
        return delivery

    def _fail_pending(self, reason: str) -> None:
        with self._lock:
            pending, self._pending = self._pending, {}
            self._early.clear()
            self._generation += 1
        for delivery in pending.values():
            delivery._finish(False, reason)

    # -- the connection thread ---------------------------------------------------------
    def _run(self, stop: threading.Event) -> None:
        endpoint = self.settings.mqtt
        while not stop.is_set():
            try:
                if self.protocol is None:
                    self.protocol = detect_protocol(self.settings, self.client_id)
                client = self._make_client(self.protocol)
                self._client = client
                if self.protocol == MQTT_V5:
                    client.connect(endpoint.host, endpoint.port, keepalive=30, clean_start=True)
                else:
                    client.connect(endpoint.host, endpoint.port, keepalive=30)
            except (OSError, ssl.SSLError, BrokerUnavailable) as exc:
                self._note(f"cannot reach MQTT broker {endpoint.redacted()}: {exc}")
                self.settled.set()
                self._backoff.wait(stop)
                continue
            self._serve(client, stop)
            self.settled.set()
            self.connected.clear()
            self._fail_pending("connection lost before the broker acknowledged")
            self._client = None
            if not stop.is_set():
                self._backoff.wait(stop)

    def _serve(self, client: mqtt.Client, stop: threading.Event) -> None:
        while not stop.is_set():
            if client.loop(timeout=0.2) != mqtt.MQTT_ERR_SUCCESS:
                return
        if self.connected.is_set():
            client.disconnect()
            client.loop(timeout=0.2)

    def _make_client(self, protocol: MQTTProtocolVersion) -> mqtt.Client:
        settings, endpoint = self.settings, self.settings.mqtt
        client = mqtt.Client(
            callback_api_version=CallbackAPIVersion.VERSION2,
            client_id=self.client_id,
            protocol=protocol,
            clean_session=True if protocol == MQTT_V311 else None,
        )
        if endpoint.username:
            client.username_pw_set(endpoint.username, endpoint.password)
        if endpoint.tls:
            client.tls_set(
                ca_certs=settings.mqtt_ca_file,
                certfile=settings.mqtt_client_cert,
                keyfile=settings.mqtt_client_key,
                tls_version=ssl.PROTOCOL_TLS_CLIENT,
            )
        client.max_inflight_messages_set(1000)
        client.max_queued_messages_set(0)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_publish = self._on_publish
        return client

    def _note(self, text: str) -> None:
        if text != self.last_error:
            log.warning("%s", text)
        self.last_error = text

    # -- paho callbacks (connection thread) ----------------------------------------------
    def _on_connect(
        self, client: mqtt.Client, _u: object, _f: object, reason: ReasonCode, _p: object
    ) -> None:
        if reason.is_failure:
            hint = " (check the credentials in FLEET_MQTT_URL)" if is_auth_failure(reason) else ""
            self._note(f"broker refused the command publisher: {reason}{hint}")
            client.disconnect()
            return
        self.last_error = None
        self._backoff.reset()
        self.connected.set()
        self.settled.set()
        log.info("command publisher connected to %s", self.settings.mqtt.redacted())
        for listener in self._listeners:
            try:
                listener()
            except Exception:  # a listener never stops the connection
                log.exception("command publisher listener failed")

    def _on_disconnect(
        self, _c: mqtt.Client, _u: object, _f: object, reason: ReasonCode, _p: object
    ) -> None:
        self.connected.clear()
        if not self._stop.is_set():
            self._note(f"command publisher disconnected: {reason}")

    def _on_publish(
        self, _c: mqtt.Client, _u: object, mid: int, reason: ReasonCode, _p: object
    ) -> None:
        ok = not reason.is_failure
        why = None if ok else str(reason)
        nobody = ok and reason.value == NO_MATCHING_SUBSCRIBERS
        if not ok:
            log.error("broker refused a command publish: %s", reason)
        with self._lock:
            delivery = self._pending.pop(mid, None)
            if delivery is None:
                self._early[mid] = (ok, why, nobody)
        if delivery is not None:
            delivery._finish(ok, why, nobody)
