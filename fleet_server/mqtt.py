"""Building paho-mqtt clients from Settings, and finding the broker's protocol."""

from __future__ import annotations

import logging
import ssl
import threading

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from paho.mqtt.reasoncodes import ReasonCode

from fleet_server.errors import BrokerUnavailable
from fleet_server.settings import MqttEndpoint, Settings

log = logging.getLogger(__name__)

MQTT_V5 = MQTTProtocolVersion.MQTTv5
MQTT_V311 = MQTTProtocolVersion.MQTTv311

# CONNACK codes meaning "this broker will never accept these credentials".
_AUTH_FAILURES = {"Bad user name or password", "Not authorized", "Banned"}


def make_client(
    settings: Settings, client_id: str, protocol: MQTTProtocolVersion, *, manual_ack: bool = False
) -> mqtt.Client:
    endpoint = settings.mqtt
    client = mqtt.Client(
        callback_api_version=CallbackAPIVersion.VERSION2,
        client_id=client_id,
        protocol=protocol,
        clean_session=None if protocol == MQTT_V5 else False,
        manual_ack=manual_ack,
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
    client.reconnect_delay_set(min_delay=1, max_delay=30)
    return client


def is_auth_failure(reason: ReasonCode) -> bool:
    return str(reason) in _AUTH_FAILURES


def detect_protocol(
    settings: Settings, client_id: str, timeout: float = 10.0
) -> MQTTProtocolVersion:
    """MQTT 5 when the broker accepts it (shared subscriptions, receive
    maximum, message expiry), else 3.1.1. Raises BrokerUnavailable when the
    broker cannot be reached or refuses the credentials."""
    if settings.mqtt_protocol == "5":
        return MQTT_V5
    if settings.mqtt_protocol == "3.1.1":
        return MQTT_V311
    endpoint: MqttEndpoint = settings.mqtt
    probe = make_client(settings, f"{client_id}-probe"[:64], MQTT_V5)
    answer: list[ReasonCode | None] = []
    done = threading.Event()

    def on_connect(_c: mqtt.Client, _u: object, _f: object, reason: ReasonCode, _p: object) -> None:
        answer.append(reason)
        done.set()

    def on_disconnect(_c: mqtt.Client, _u: object, _f: object, _r: object, _p: object) -> None:
        done.set()

    probe.on_connect = on_connect
    probe.on_disconnect = on_disconnect
    try:
        probe.connect(endpoint.host, endpoint.port, keepalive=10, clean_start=True)
    except OSError as exc:
        raise BrokerUnavailable(f"cannot reach MQTT broker {endpoint.redacted()}: {exc}") from exc
    probe.loop_start()
    try:
        done.wait(timeout)
    finally:
        probe.disconnect()
        probe.loop_stop()
    if not answer or answer[0] is None:
        log.info("broker %s did not answer an MQTT 5 CONNECT; using 3.1.1", endpoint.redacted())
        return MQTT_V311
    reason = answer[0]
    if not reason.is_failure:
        return MQTT_V5
    if is_auth_failure(reason):
        raise BrokerUnavailable(f"broker {endpoint.redacted()} refused the login: {reason}")
    log.info("broker %s refused MQTT 5 (%s); using 3.1.1", endpoint.redacted(), reason)
    return MQTT_V311
