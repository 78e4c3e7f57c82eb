"""The board's MQTT session (paho-mqtt v2).

A network thread of our own drives ``client.loop()`` so that we decide how
to reconnect: exponential backoff with full jitter, a fresh last will (new
seq) before every connection attempt, and slow retries with a clear log line
when the broker says the credentials are not authorised.

On connect: subscribe to our commands, desired config and delivery
receipts, publish the retained birth (status online, boot counter) and only
then let the main thread publish the spool's backlog. The birth goes out
after what paho sends again from the previous connection (it does so right
after ``on_connect``): an earlier birth the broker never acknowledged must not
reach it after this one and stay the retained state. A broker whose ACL
refuses the receipt subscription is noted (``receipts_refused``): the agent
then falls back to PUBACK for that connection rather than wait for receipts
that cannot come. The last will (status lost) carries the same boot counter,
so the server can ignore a stale will that arrives after a newer birth. A
clean shutdown publishes "offline" and disconnects normally (no will).

Callbacks only hand data to the main thread (a deque and an event); the
spool is only touched by the main thread.
"""

from __future__ import annotations

import collections
import contextlib
import logging
import random
import socket
import ssl
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from urllib.parse import unquote, urlsplit

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from paho.mqtt.reasoncodes import ReasonCode

import fleet_protocol as fp
from edge_agent import __version__
from edge_agent.config import AgentConfig
from edge_agent.errors import ConfigError
from edge_agent.redact import redact
from edge_agent.usage import DataMeter

log = logging.getLogger(__name__)

_AUTH_FAILURES = {"Bad user name or password", "Not authorized", "Banned"}
_NOT_AUTHORISED_RETRY_S = 300.0


class Backoff:
    """uniform(0, min(cap, base * 2**attempt)) — full jitter."""

    def __init__(self, base: float = 1.0, cap: float = 60.0) -> None:
        self.base, self.cap, self.attempt = base, cap, 0
        self._rng = random.Random()  # noqa: S311 - jitter, not cryptography

    def next_delay(self) -> float:
        ceiling = min(self.cap, self.base * 2 ** min(self.attempt, 20))
        self.attempt += 1
        return self._rng.uniform(0, ceiling)


class Session:
    def __init__(
        self,
        config: AgentConfig,
        *,
        boot: int,
        next_seq: Callable[[], int],
        on_message: Callable[[str, bytes], None],
        wake: threading.Event,
        heartbeat_interval: Callable[[], float],
        link_up: Callable[[], bool] | None = None,
        meter: DataMeter | None = None,
    ) -> None:
        self.config = config
        #: counts the bytes on the link (edge_agent.usage)
        self.meter = meter
        self.boot = boot
        self._next_seq = next_seq
        self._on_message = on_message
        self._wake = wake
        self._heartbeat_interval = heartbeat_interval
        self.acked: collections.deque[int] = collections.deque()
        self.ready = threading.Event()  # connected, birth sent: backlog may flow
        self.connected_since = 0.0
        self.last_error: str | None = None
        self.connects = 0
        #: the broker refused this connection's receipt subscription (SUBACK)
        self.receipts_refused = False
        self._subscribe_mid: int | None = None
        self._stop = threading.Event()
        # Simulation seam: the demo cuts a board's 4G link or its power.
        self._link_up = link_up
        self._crashed = False
        self._thread: threading.Thread | None = None
        self._seq_lock = threading.Lock()
        self._birth_seq = 0
        self._birth_due = False  # connected; the birth waits for paho's resends
        parts = urlsplit(config.mqtt_url)
        self._host = parts.hostname or "127.0.0.1"
        self._tls = parts.scheme == "mqtts"
        self._port = parts.port or (8883 if self._tls else 1883)
        self._username = unquote(parts.username) if parts.username else config.device_id
        self._password = (unquote(parts.password) if parts.password else None) or (
            config.password()
        )
        self.client = self._make_client()

    # -- setup ------------------------------------------------------------------------
    def _make_client(self) -> mqtt.Client:
        cfg = self.config
        client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=cfg.device_id,
            protocol=MQTTProtocolVersion.MQTTv311,
            clean_session=True,
        )
        client.username_pw_set(self._username, self._password)
        if self._tls:
            try:
                client.tls_set(
                    ca_certs=str(cfg.ca_file) if cfg.ca_file else None,
                    certfile=str(cfg.cert_file) if cfg.cert_file else None,
                    keyfile=str(cfg.key_file) if cfg.key_file else None,
                    tls_version=ssl.PROTOCOL_TLS_CLIENT,
                )
            except (OSError, ssl.SSLError) as exc:
                raise ConfigError(f"TLS files unusable: {exc}") from exc
        client.max_inflight_messages_set(cfg.spool.inflight + 20)
        client.max_queued_messages_set(0)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_publish = self._on_publish
        client.on_message = self._on_mqtt_message
        client.on_subscribe = self._on_subscribe
        if self.meter is not None:
            meter = self.meter
            client.on_socket_open = lambda _c, _u, sock: meter.opened(sock)
            client.on_socket_close = lambda _c, _u, sock: meter.closed(sock)
        return client

    def _take_seq(self) -> int:
        with self._seq_lock:
            return self._next_seq()

    def _state(
        self, status: str, reason: str | None = None, seq: int | None = None
    ) -> tuple[str, bytes]:
        now = datetime.now(UTC)
        if seq is None:
            seq = self._take_seq()
        message = fp.StateMessage(
            schema_version=1,
            device_id=self.config.device_id,
            boot=self.boot,
            seq=seq,
            measured_at=now,
            sent_at=now,
            data=fp.StateData(
                status=status,  # type: ignore[arg-type]
                agent_version=__version__,
                reason=reason,
                heartbeat_interval_s=max(1, int(self._heartbeat_interval())),
            ),
        )
        return fp.state_topic(self.config.device_id), fp.encode(message)

    # -- lifecycle --------------------------------------------------------------------
    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="mqtt", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        """Publish the clean "offline" state, then disconnect without the will."""
        self._stop.set()
        if self.ready.is_set():
            topic, payload = self._state("offline", "agent stopped")
            info = self.client.publish(topic, payload, qos=1, retain=True)
            deadline = time.monotonic() + timeout
            while not info.is_published() and time.monotonic() < deadline:
                time.sleep(0.01)
        self.client.disconnect()
        if self._thread is not None:
            self._thread.join(timeout)

    def crash(self, timeout: float = 5.0) -> None:
        """Die like a board whose power failed: no "offline", the broker
        publishes the will."""
        self._crashed = True
        self._stop.set()
        self._sever()
        if self._thread is not None:
            self._thread.join(timeout)

    def _link_ok(self) -> bool:
        return self._link_up is None or self._link_up()

    def _sever(self) -> None:
        """Drop the TCP connection without DISCONNECT (a dead link)."""
        sock = self.client.socket()
        if isinstance(sock, socket.socket):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        self.ready.clear()

    def _run(self) -> None:
        backoff = Backoff()
        while not self._stop.is_set():
            if not self._link_ok():
                self._stop.wait(0.5)
                continue
            if not self._connect_once(backoff):
                continue
            self._serve()
            if self._stop.is_set():
                if not self._crashed:
                    self._flush()
                break
            if self.last_error and "not authorised" in self.last_error:
                delay = _NOT_AUTHORISED_RETRY_S
            else:
                delay = backoff.next_delay()
            if self.connected_since and time.monotonic() - self.connected_since > 60:
                backoff.attempt = 0  # a connection that lasted resets the backoff
            log.info("reconnecting in %.1fs", delay)
            self._stop.wait(delay)

    def _connect_once(self, backoff: Backoff) -> bool:
        # The birth's seq is taken before the will's: the server applies a
        # state only if its (boot, seq) is newer, so this connection's will
        # beats its birth, and a stale will of an earlier connection loses to
        # any later birth.
        self._birth_seq = self._take_seq()
        topic, payload = self._state("lost", "connection lost (last will)")
        self.client.will_set(topic, payload, qos=1, retain=True)
        try:
            self.client.connect(self._host, self._port, keepalive=self.config.keepalive_s)
        except (OSError, ssl.SSLError) as exc:
            self._note_error(f"cannot connect to {redact(self.config.mqtt_url)}: {exc}")
            self._stop.wait(backoff.next_delay())
            return False
        return True

    def _serve(self) -> None:
        """Run the connection until it drops or we are told to stop."""
        while not self._stop.is_set():
            if not self._link_ok():
                self._sever()
            if self.client.loop(timeout=0.2) != mqtt.MQTT_ERR_SUCCESS:
                return
            if self._birth_due:
                self._publish_birth()
            if self.meter is not None:
                self.meter.poll(self.client.socket())

    def _flush(self) -> None:
        """Let the clean "offline" and the DISCONNECT go out."""
        for _ in range(20):
            if self.client.loop(timeout=0.05) != mqtt.MQTT_ERR_SUCCESS:
                return

    def _note_error(self, text: str) -> None:
        if text != self.last_error:
            log.warning("%s", text)
        self.last_error = text

    # -- paho callbacks (network thread) ----------------------------------------------
    def _on_connect(
        self, client: mqtt.Client, _u: object, _f: object, reason: ReasonCode, _p: object
    ) -> None:
        if reason.is_failure:
            if str(reason) in _AUTH_FAILURES:
                self._note_error(
                    f"broker refused the login as {self._username!r}: {reason} — not authorised;"
                    f" check credentials_file; retrying every {_NOT_AUTHORISED_RETRY_S:.0f}s"
                )
            else:
                self._note_error(f"broker refused the connection: {reason}")
            client.disconnect()
            return
        self.last_error = None
        self.connects += 1
        self.connected_since = time.monotonic()
        device = self.config.device_id
        self.receipts_refused = False
        _rc, self._subscribe_mid = client.subscribe(
            [
                (f"{fp.PREFIX}/{device}/cmd/+", 1),
                (fp.config_desired_topic(device), 1),
                (fp.receipt_topic(device), 1),
                # what ingest reads besides JSON (the compact encoding); a broker
                # that refuses it leaves the board on JSON
                (fp.capabilities_topic(device), 1),
            ]
        )
        # paho queues what the previous connection left unacknowledged after
        # this callback returns; the birth follows it (_serve).
        self._birth_due = True

    def _publish_birth(self) -> None:
        """The retained birth, then the backlog may flow (network thread)."""
        self._birth_due = False
        topic, payload = self._state("online", seq=self._birth_seq)
        info = self.client.publish(topic, payload, qos=1, retain=True)  # current state first
        if info.rc != mqtt.MQTT_ERR_SUCCESS or not self.client.is_connected():
            return  # the link dropped while writing it: the next connection's birth follows
        log.info("connected to %s (boot %d)", redact(self.config.mqtt_url), self.boot)
        self.ready.set()
        self._wake.set()

    def _on_disconnect(
        self, _c: mqtt.Client, _u: object, _f: object, reason: ReasonCode, _p: object
    ) -> None:
        self.ready.clear()
        self._birth_due = False
        if not self._stop.is_set():
            log.warning("disconnected from the broker: %s", reason)

    def _on_subscribe(
        self, _c: mqtt.Client, _u: object, mid: int, codes: list[ReasonCode], _p: object
    ) -> None:
        if mid != self._subscribe_mid or len(codes) < 3:
            return
        if codes[2].is_failure:
            log.warning(
                "the broker refused the receipt subscription (%s): messages count as"
                " delivered on PUBACK on this connection; allow %s in the broker's ACL",
                codes[2],
                fp.receipt_topic(self.config.device_id),
            )
            self.receipts_refused = True
            self._wake.set()

    def _on_publish(self, _c: mqtt.Client, _u: object, mid: int, _r: object, _p: object) -> None:
        self.acked.append(mid)
        self._wake.set()

    def _on_mqtt_message(self, _c: mqtt.Client, _u: object, msg: mqtt.MQTTMessage) -> None:
        self._on_message(msg.topic, bytes(msg.payload))
        if self.meter is not None:
            self.meter.mqtt_received(msg.topic, msg.payload)
        self._wake.set()

    # -- publishing (main thread) -----------------------------------------------------
    def publish(self, topic: str, payload: bytes) -> int | None:
        """Hand one QoS 1 message to paho; its mid, or None when not connected."""
        if not self.ready.is_set():
            return None
        info = self.client.publish(topic, payload, qos=1)
        if self.meter is not None:
            self.meter.mqtt_sent(topic, payload)
        # NO_CONN: the link dropped just now; paho keeps the QoS 1 message and
        # sends it after reconnecting, so it is in flight all the same.
        if info.rc not in (mqtt.MQTT_ERR_SUCCESS, mqtt.MQTT_ERR_NO_CONN):
            return None
        return info.mid
