"""The MQTT side of ingest: one paho client with manual acknowledgements.

paho runs its network loop in its own thread; ``on_message`` only hands the
raw message to the service's queue and never blocks or raises: a blocked
network thread sends no keepalive and the broker drops the connection,
redelivering everything unacknowledged. A message is acknowledged by
:meth:`MqttConsumer.ack_all` after its row is committed. Every (re)connection
starts a new *generation*: an ack for a message received on an earlier
connection is never sent (its packet id may already belong to another
message); the broker redelivers such messages and the database drops the
duplicate.

After a lost connection paho retries from ``FLEET_INGEST_RECONNECT_MIN_S``
(0.1 s), doubling up to ``FLEET_INGEST_RECONNECT_MAX_S`` (2 s): ingest is back
before the boards after a broker restart.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import paho.mqtt.client as mqtt
from paho.mqtt.enums import MQTTProtocolVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from fleet_protocol import subscription_filters
from fleet_protocol.redact import redact
from fleet_server.errors import BrokerUnavailable
from fleet_server.ingest import packets
from fleet_server.mqtt import MQTT_V5, detect_protocol, is_auth_failure, make_client
from fleet_server.settings import Settings

log = logging.getLogger(__name__)


@dataclass(slots=True)
class Inbound:
    """A message as it came off the wire, before validation."""

    topic: str
    payload: bytes
    mid: int
    qos: int
    received_at: float
    generation: int


class MqttConsumer:
    def __init__(self, settings: Settings, deliver: Callable[[Inbound], None]) -> None:
        self._settings = settings
        self._deliver = deliver
        self._client: mqtt.Client | None = None
        self._protocol = MQTT_V5
        self._generation = 0
        self._lock = threading.Lock()
        self.connected = threading.Event()
        # Set on the broker's SUBACK: from then on nothing published is missed
        # (a clean MQTT 3.1.1 session has no subscription until that point).
        self.subscribed = threading.Event()
        self.fatal: str | None = None
        self._stopping = False
        self.connects = 0

    @property
    def protocol(self) -> MQTTProtocolVersion:
        return self._protocol

    def filters(self) -> list[str]:
        group = self._settings.ingest_shared_group
        if group and self._protocol == MQTT_V5:
            return [f"$share/{group}/{f}" for f in subscription_filters()]
        return subscription_filters()

    def start(self) -> None:
        s = self._settings
        self._protocol = detect_protocol(s, s.ingest_client_id)
        client = make_client(s, s.ingest_client_id, self._protocol, manual_ack=True)
        # paho computes with these as numbers (min, *2, sleep): fractions of a second work.
        client.reconnect_delay_set(
            min_delay=s.ingest_reconnect_min_s,  # type: ignore[arg-type]
            max_delay=s.ingest_reconnect_max_s,  # type: ignore[arg-type]
        )
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_message = self._on_message
        client.on_subscribe = self._on_subscribe
        client.max_queued_messages_set(0)
        endpoint = s.mqtt
        kwargs: dict[str, object] = {}
        if self._protocol == MQTT_V5:
            props = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
            props.SessionExpiryInterval = s.ingest_session_expiry_s
            props.ReceiveMaximum = s.ingest_receive_maximum
            kwargs = {"clean_start": False, "properties": props}
        client.connect_async(
            endpoint.host,
            endpoint.port,
            keepalive=s.ingest_keepalive_s,
            **kwargs,  # type: ignore[arg-type]
        )
        self._client = client
        client.loop_start()
        log.info(
            "ingest consuming from %s as %s (MQTT %s)",
            endpoint.redacted(),
            s.ingest_client_id,
            "5" if self._protocol == MQTT_V5 else "3.1.1",
        )

    def stop(self, timeout: float = 5.0) -> None:
        """Disconnect and end paho's network thread, waiting for it at most
        ``timeout`` s: ``loop_stop`` waits without a bound, and with its
        socket's buffer full towards a broker that stopped reading, that
        thread waits out the keepalive (docs/reliability.md, "Stopping")."""
        client = self._client
        if client is None:
            return
        self._stopping = True
        client.disconnect()
        stopper = threading.Thread(target=client.loop_stop, name="mqtt-stop", daemon=True)
        stopper.start()
        stopper.join(timeout)
        if stopper.is_alive():
            log.warning("the MQTT network thread did not end within %.0f s: left behind", timeout)
        self._client = None
        self.connected.clear()
        self.subscribed.clear()

    def publish(self, topic: str, payload: bytes) -> bool:
        """Queue a server → board message at QoS 1, not retained; never blocks.
        False when there is no connection (the message is not kept)."""
        client = self._client
        if client is None or not self.connected.is_set():
            return False
        return client.publish(topic, payload, qos=1).rc == mqtt.MQTT_ERR_SUCCESS

    def publish_all(self, messages: list[tuple[str, bytes]]) -> bool:
        """Queue server → board messages at QoS 0, not retained, as one write
        (``packets``); never blocks. False when there is no connection (the
        messages are not kept)."""
        client = self._client
        if client is None or not self.connected.is_set():
            return False
        chunk = b"".join(
            packets.publish(topic, payload, self._protocol) for topic, payload in messages
        )
        if packets.enqueue(client, chunk):
            return True
        return all(
            client.publish(topic, payload, qos=0).rc == mqtt.MQTT_ERR_SUCCESS
            for topic, payload in messages
        )

    def ack_all(self, items: list[Inbound]) -> int:
        """Acknowledge a committed batch (one lock, one write for all); how
        many were acknowledged, the rest came on a connection that is gone."""
        with self._lock:
            client, generation = self._client, self._generation
            qos0 = sum(item.qos == 0 for item in items)
            if client is None:
                return qos0
            # ingest subscribes at QoS 1: nothing comes at QoS 2
            mids = [i.mid for i in items if i.qos == 1 and i.generation == generation]
            if packets.enqueue(client, packets.pubacks(mids)):
                return qos0 + len(mids)
            sent = sum(client.ack(mid, 1) == mqtt.MQTT_ERR_SUCCESS for mid in mids)
        return qos0 + sent

    # -- paho callbacks (network thread) ----------------------------------------------
    def _on_connect(
        self,
        client: mqtt.Client,
        _userdata: object,
        flags: mqtt.ConnectFlags,
        reason: ReasonCode,
        _props: object,
    ) -> None:
        if reason.is_failure:
            log.error("broker refused ingest connection: %s", reason)
            if is_auth_failure(reason):
                self.fatal = f"broker refused the login: {reason}"
                client.disconnect()
            return
        with self._lock:
            self._generation += 1
        self.connects += 1
        client.subscribe([(f, 1) for f in self.filters()])
        log.info("ingest connected (session present: %s)", flags.session_present)
        self.connected.set()

    def _on_disconnect(
        self,
        _client: mqtt.Client,
        _userdata: object,
        _flags: object,
        reason: ReasonCode,
        _props: object,
    ) -> None:
        with self._lock:
            self._generation += 1
        self.connected.clear()
        self.subscribed.clear()
        if not self._stopping:
            log.warning("ingest lost the broker (%s); paho reconnects", reason)

    def _on_subscribe(
        self,
        _client: mqtt.Client,
        _userdata: object,
        _mid: int,
        reasons: list[ReasonCode],
        _props: object,
    ) -> None:
        refused = [r for r in reasons if r.is_failure]
        if refused:
            log.error("broker refused ingest subscriptions: %s", ", ".join(map(str, refused)))
            return
        self.subscribed.set()

    def _on_message(self, _client: mqtt.Client, _userdata: object, msg: mqtt.MQTTMessage) -> None:
        try:
            topic = msg.topic
        except UnicodeDecodeError:  # brokers refuse such topics; a dead letter (bad_topic) if not
            topic = "(topic is not UTF-8)"
        try:
            self._deliver(
                Inbound(topic, bytes(msg.payload), msg.mid, msg.qos, time.time(), self._generation)
            )
        except Exception:
            # An exception here would end paho's network thread; the message
            # stays unacknowledged and comes back on the next connection.
            log.exception("ingest could not take a message on %s", redact(topic)[:120])


__all__ = ["BrokerUnavailable", "Inbound", "MqttConsumer"]
