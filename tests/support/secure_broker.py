"""A real Mosquitto started from the project's PRODUCTION broker/mosquitto.conf.

The broker directory is made by the same code as ``fleet-server broker init``
(CA, server certificate for 127.0.0.1, empty CRL, dynamic-security.json with
an admin and a fleet-server account). Only the listener ports (free ports on
127.0.0.1) and the paths are rewritten in the configuration, so the tests
exercise exactly what production runs: TLS, no anonymous access, the
dynamic-security plugin, default-deny ACLs.

:class:`MqttProbe` is a small paho client for asserting what the broker
allows: the CONNACK (or the TLS failure), SUBACK reason codes, PUBACK reason
codes (MQTT 5) and the messages that arrive.
"""

from __future__ import annotations

import os
import pwd
import re
import signal
import ssl
import subprocess
import threading
from dataclasses import dataclass
from pathlib import Path

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from fleet_server.broker.bootstrap import BrokerFiles, init_broker_dir
from fleet_server.broker.ca import ProvisioningCA
from fleet_server.broker.dynsec import DynsecClient
from tests.support.mosquitto import start_mosquitto, stop_mosquitto
from tests.support.ports import free_port
from tests.support.wait import wait_for

REPO = Path(__file__).resolve().parents[2]
PROD_CONF = REPO / "broker" / "mosquitto.conf"
PROD_DIR = "/var/lib/mosquitto/fleet"
PROD_PERSISTENCE = "/var/lib/mosquitto/"
TLS_PORT, MTLS_PORT = 8883, 8884
_PLUGIN_CANDIDATES = (
    "/usr/lib/x86_64-linux-gnu/mosquitto_dynamic_security.so",
    "/usr/lib/aarch64-linux-gnu/mosquitto_dynamic_security.so",
    "/usr/lib/mosquitto_dynamic_security.so",
    "/usr/local/lib/mosquitto_dynamic_security.so",
)


def _world_traversable(path: Path) -> None:
    """Mosquitto started as root drops to its own user, which must reach the files."""
    for parent in [path, *path.parents]:
        mode = parent.stat().st_mode
        if not mode & 0o001:
            parent.chmod(mode | 0o001)


def rewrite_conf(
    text: str, *, broker_dir: Path, data_dir: Path, tls_port: int, mtls_port: int
) -> str:
    """The production configuration with only ports and paths changed."""
    ports = {TLS_PORT: tls_port, MTLS_PORT: mtls_port}

    def listener(match: re.Match[str]) -> str:
        port = int(match.group(1))
        if port not in ports:
            raise AssertionError(f"unexpected listener {match.group(0)!r} in mosquitto.conf")
        return f"listener {ports[port]} 127.0.0.1"

    text, count = re.subn(r"(?m)^listener (\d+)\s*$", listener, text)
    assert count == 2, "mosquitto.conf should have exactly the 8883 and 8884 listeners"
    text = re.sub(r"(?m)^persistence_location .*$", f"persistence_location {data_dir}/", text)
    text = text.replace(PROD_DIR, str(broker_dir))
    plugin = re.search(r"(?m)^plugin (\S+)$", text)
    assert plugin is not None, "mosquitto.conf loads no plugin"
    if not Path(plugin.group(1)).exists():
        found = next((p for p in _PLUGIN_CANDIDATES if Path(p).exists()), None)
        if found is None:
            raise RuntimeError("mosquitto_dynamic_security.so not found")
        text = text.replace(plugin.group(0), f"plugin {found}")
    leftover = [
        line
        for line in text.splitlines()
        if "/var/lib/mosquitto" in line and not line.lstrip().startswith("#")
    ]
    assert not leftover, f"production paths left in the test configuration: {leftover}"
    return text


@dataclass(frozen=True, slots=True)
class Accounts:
    admin_username: str
    admin_password: str
    server_username: str
    server_password: str


class SecureBroker:
    """One production-configured Mosquitto with its own CA and accounts.

    ``SecureBroker.create(workdir)`` makes a new broker directory (as
    ``fleet-server broker init`` does); ``SecureBroker(workdir, broker_dir,
    accounts)`` runs one that exists."""

    def __init__(self, workdir: Path, broker_dir: Path, accounts: Accounts) -> None:
        self.workdir = workdir
        self.broker_dir = broker_dir
        self.files = BrokerFiles(broker_dir)
        self.data_dir = workdir / "data"
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.admin_username = accounts.admin_username
        self.admin_password = accounts.admin_password
        self.server_username = accounts.server_username
        self.server_password = accounts.server_password
        self.ca = ProvisioningCA(self.files.ca_dir)
        self.ca_file = self.files.ca_cert
        self.tls_port = free_port()
        self.mtls_port = free_port()
        self.conf_path = workdir / "mosquitto.conf"
        self.conf_path.write_text(
            rewrite_conf(
                PROD_CONF.read_text(),
                broker_dir=self.broker_dir,
                data_dir=self.data_dir,
                tls_port=self.tls_port,
                mtls_port=self.mtls_port,
            )
        )
        self._give_to_mosquitto()
        self.log_path = workdir / "mosquitto.log"
        self.proc: subprocess.Popen[bytes] | None = None

    @classmethod
    def create(cls, workdir: Path, *, iterations: int = 1000) -> SecureBroker:
        """A new broker directory with generated passwords. Fewer PBKDF2 rounds
        than production keep the suite fast; the `broker init` test logs in
        with the production count."""
        workdir.mkdir(parents=True, exist_ok=True)
        init = init_broker_dir(
            workdir / "broker",
            dns_names=("localhost",),
            ip_addresses=("127.0.0.1",),
            iterations=iterations,
        )
        accounts = Accounts(
            init.admin_username,
            init.generated[init.admin_username],
            init.server_username,
            init.generated[init.server_username],
        )
        return cls(workdir, init.files.directory, accounts)

    def _give_to_mosquitto(self) -> None:
        _world_traversable(self.workdir)
        if os.geteuid() != 0:
            return  # Mosquitto runs as us
        try:
            user = pwd.getpwnam("mosquitto")
        except KeyError:
            return
        files = self.files
        for path in (
            self.broker_dir,
            self.data_dir,
            files.dynsec_json,
            files.server_key,
            files.server_cert,
        ):
            os.chown(path, user.pw_uid, user.pw_gid)

    # -- addresses ------------------------------------------------------------------------
    @property
    def tls_url(self) -> str:
        return f"mqtts://127.0.0.1:{self.tls_port}"

    @property
    def mtls_url(self) -> str:
        return f"mqtts://127.0.0.1:{self.mtls_port}"

    @property
    def admin_url(self) -> str:
        return f"mqtts://{self.admin_username}@127.0.0.1:{self.tls_port}"

    # -- process --------------------------------------------------------------------------
    def start(self) -> None:
        self.proc = start_mosquitto(self.conf_path, self.log_path, [self.tls_port, self.mtls_port])

    def stop(self) -> None:
        stop_mosquitto(self.proc)
        self.proc = None

    def restart(self) -> None:
        self.stop()
        self.start()

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace")

    def reload(self) -> None:
        """SIGHUP (what `systemctl reload mosquitto` sends) and wait until the
        broker has re-read its configuration, certificates and CRL."""
        assert self.proc is not None
        before = self.log_text().count("Reloading config.")
        self.proc.send_signal(signal.SIGHUP)
        wait_for(
            lambda: self.log_text().count("Reloading config.") > before,
            timeout=10,
            what="mosquitto to reload",
        )
        # The reload runs in the broker's (single) main loop after that log
        # line; one round trip through the loop proves it has finished.
        with self.dynsec() as dynsec:
            dynsec.get_default_acl_access()

    # -- clients --------------------------------------------------------------------------
    def dynsec(self, timeout: float = 10.0) -> DynsecClient:
        """A (not yet connected) admin client: ``with broker.dynsec() as d: ...``."""
        return DynsecClient(
            "127.0.0.1",
            self.tls_port,
            self.admin_username,
            self.admin_password,
            ca_file=self.ca_file,
            timeout=timeout,
        )

    def probe(
        self,
        client_id: str,
        username: str | None = None,
        password: str | None = None,
        *,
        mtls: bool = False,
        tls: bool = True,
        cert_file: Path | None = None,
        key_file: Path | None = None,
        ca_file: Path | None = None,
        protocol: MQTTProtocolVersion = MQTTProtocolVersion.MQTTv5,
    ) -> MqttProbe:
        return MqttProbe(
            self.mtls_port if mtls else self.tls_port,
            client_id,
            username,
            password,
            tls=tls,
            ca_file=ca_file or self.ca_file,
            cert_file=cert_file,
            key_file=key_file,
            protocol=protocol,
        )

    def server_probe(self, client_id: str = "fleet-server-test") -> MqttProbe:
        return self.probe(client_id, self.server_username, self.server_password)


@dataclass(frozen=True, slots=True)
class ConnectResult:
    ok: bool
    reason: str


class MqttProbe:
    """A paho client that records what the broker answered."""

    def __init__(
        self,
        port: int,
        client_id: str,
        username: str | None,
        password: str | None,
        *,
        tls: bool,
        ca_file: Path,
        cert_file: Path | None = None,
        key_file: Path | None = None,
        protocol: MQTTProtocolVersion = MQTTProtocolVersion.MQTTv5,
    ) -> None:
        self.port = port
        self.protocol = protocol
        self.messages: list[tuple[str, bytes]] = []
        self.connected = threading.Event()
        self.disconnected = threading.Event()
        self.connack: ReasonCode | None = None
        self.disconnect_reason: str | None = None
        self._lock = threading.Lock()
        self._suback: dict[int, list[ReasonCode]] = {}
        self._puback: dict[int, ReasonCode | None] = {}
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=client_id,
            protocol=protocol,
            clean_session=None if protocol == MQTTProtocolVersion.MQTTv5 else True,
            reconnect_on_failure=False,
        )
        if username is not None:
            self.client.username_pw_set(username, password)
        if tls:
            self.client.tls_set(
                ca_certs=str(ca_file),
                certfile=str(cert_file) if cert_file else None,
                keyfile=str(key_file) if key_file else None,
                tls_version=ssl.PROTOCOL_TLS_CLIENT,
            )
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = self._on_disconnect
        self.client.on_subscribe = self._on_subscribe
        self.client.on_publish = self._on_publish
        self.client.on_message = self._on_message

    # callbacks
    def _on_connect(
        self, _c: mqtt.Client, _u: object, _f: object, rc: ReasonCode, _p: Properties | None
    ) -> None:
        self.connack = rc
        if not rc.is_failure:
            self.connected.set()

    def _on_disconnect(
        self, _c: mqtt.Client, _u: object, _f: object, rc: ReasonCode, _p: Properties | None
    ) -> None:
        self.disconnect_reason = str(rc)
        self.connected.clear()
        self.disconnected.set()

    def _on_subscribe(
        self, _c: mqtt.Client, _u: object, mid: int, rcs: list[ReasonCode], _p: object
    ) -> None:
        with self._lock:
            self._suback[mid] = list(rcs)

    def _on_publish(
        self, _c: mqtt.Client, _u: object, mid: int, rc: ReasonCode, _p: object
    ) -> None:
        with self._lock:
            self._puback[mid] = rc

    def _on_message(self, _c: mqtt.Client, _u: object, msg: mqtt.MQTTMessage) -> None:
        with self._lock:
            self.messages.append((msg.topic, bytes(msg.payload)))

    # actions
    def connect(self, timeout: float = 10.0) -> ConnectResult:
        """CONNECT and wait for the CONNACK or the connection's end."""
        try:
            self.client.connect("127.0.0.1", self.port, keepalive=30)
        except (OSError, ssl.SSLError) as exc:
            return ConnectResult(False, f"{type(exc).__name__}: {exc}")
        self.client.loop_start()
        wait_for(
            lambda: (
                self.connected.is_set() or self.disconnected.is_set() or self.connack is not None
            ),
            timeout=timeout,
            what="CONNACK or disconnect",
        )
        if self.connected.is_set():
            return ConnectResult(True, str(self.connack))
        self.client.loop_stop()
        return ConnectResult(False, str(self.connack or self.disconnect_reason))

    def subscribe(self, topic: str, qos: int = 1, timeout: float = 10.0) -> list[ReasonCode]:
        rc, mid = self.client.subscribe(topic, qos=qos)
        assert rc == mqtt.MQTT_ERR_SUCCESS, mqtt.error_string(rc)
        assert mid is not None
        codes = wait_for(lambda: self._take(self._suback, mid), timeout=timeout, what="SUBACK")
        assert codes is not None
        return codes

    def publish(
        self, topic: str, payload: bytes | str, *, qos: int = 1, retain: bool = False
    ) -> ReasonCode | None:
        """Publish and wait for the PUBACK; its reason code (MQTT 5)."""
        info = self.client.publish(topic, payload, qos=qos, retain=retain)
        info.wait_for_publish(10)
        assert info.is_published(), f"no PUBACK for {topic}"
        wait_for(lambda: self._has_puback(info.mid), timeout=10, what="on_publish")
        with self._lock:
            return self._puback.pop(info.mid, None)

    def _has_puback(self, mid: int) -> bool:
        with self._lock:
            return mid in self._puback

    def _take(self, table: dict[int, list[ReasonCode]], mid: int) -> list[ReasonCode] | None:
        with self._lock:
            return table.pop(mid, None)

    def received(self, topic: str | None = None) -> list[tuple[str, bytes]]:
        with self._lock:
            return [m for m in self.messages if topic is None or m[0] == topic]

    def wait_message(
        self, topic: str, timeout: float = 10.0, payload: bytes | None = None
    ) -> tuple[str, bytes]:
        def check() -> tuple[str, bytes] | None:
            for message in self.received(topic):
                if payload is None or message[1] == payload:
                    return message
            return None

        found = wait_for(check, timeout=timeout, what=f"a message on {topic}")
        assert found is not None
        return found

    def wait_disconnected(self, timeout: float = 10.0) -> str:
        assert self.disconnected.wait(timeout), "the broker did not drop the connection"
        return str(self.disconnect_reason)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def granted(codes: list[ReasonCode]) -> bool:
    return all(not c.is_failure for c in codes)
