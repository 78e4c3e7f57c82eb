"""What provisioning needs besides the database: the broker's admin account,
the provisioning CA and the addresses boards dial.

:class:`ProvisioningBackend` is built from the settings (``from_settings``)
or by tests; the API takes one in ``create_app(provisioning=...)``. The broker
side is anything with :class:`BrokerAdmin`'s methods — ``DynsecClient`` in
production, a wrapper in tests that refuses on cue.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from fleet_server.broker.ca import ProvisioningCA
from fleet_server.broker.dynsec import DynsecClient
from fleet_server.broker.errors import DynsecError
from fleet_server.broker.pki import CAError
from fleet_server.errors import BrokerUnavailable
from fleet_server.provisioning.models import ProvisioningError
from fleet_server.settings import MqttEndpoint, Settings

MTLS_PORT = 8884


class BrokerAdmin(Protocol):
    """The dynamic-security operations provisioning uses (DynsecClient's)."""

    def get_client(self, username: str) -> dict[str, Any] | None: ...

    def ensure_board(self, board_id: str, password: str | None) -> None: ...

    def set_password(self, username: str, password: str) -> None: ...

    def disable_board(self, board_id: str) -> None: ...

    def enable_board(self, board_id: str) -> None: ...

    def delete_board(self, board_id: str) -> bool: ...


BrokerFactory = Callable[[], AbstractContextManager[BrokerAdmin]]


def _url(scheme: str, host: str, port: int) -> str:
    return f"{scheme}://{f'[{host}]' if ':' in host else host}:{port}"


@dataclass
class ProvisioningBackend:
    """The broker admin (a factory of sessions), the CA and the board addresses.

    ``broker_factory=None``: provisioning is not configured; every operation
    that needs the broker fails with reason ``not_configured``."""

    broker_factory: BrokerFactory | None
    #: Written into a password board's agent.toml (TLS listener, 8883).
    password_url: str | None = None
    #: Written into a certificate board's agent.toml (mutual TLS, 8884).
    certificate_url: str | None = None
    #: The provisioning CA (certificate boards); None: only password boards.
    ca_dir: Path | None = None
    #: The CA certificate boards are given to check the broker's certificate.
    ca_file: Path | None = None
    #: Why the broker is not configured (the 503's text).
    missing: str = "provisioning is not configured: set FLEET_BROKER_ADMIN_URL"
    _ca: ProvisioningCA | None = field(default=None, init=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    @classmethod
    def from_settings(cls, settings: Settings) -> ProvisioningBackend:
        ca_dir = Path(settings.provisioning_ca_dir) if settings.provisioning_ca_dir else None
        ca_file: Path | None = None
        for candidate in (settings.broker_ca_file, settings.mqtt_ca_file):
            if candidate:
                ca_file = Path(candidate)
                break
        if ca_file is None and ca_dir is not None:
            ca_file = ca_dir / ProvisioningCA.CERT
        admin_url = settings.broker_admin_url
        password_url = settings.provisioning_mqtt_url
        certificate_url = settings.provisioning_mqtt_cert_url
        factory: BrokerFactory | None = None
        if admin_url is not None:
            endpoint = MqttEndpoint.parse(admin_url)
            scheme = "mqtts" if endpoint.tls else "mqtt"
            password_url = password_url or _url(scheme, endpoint.host, endpoint.port)
            if endpoint.tls:
                certificate_url = certificate_url or _url("mqtts", endpoint.host, MTLS_PORT)
            factory = dynsec_factory(admin_url, ca_file=ca_file)
        return cls(
            factory,
            password_url=password_url,
            certificate_url=certificate_url,
            ca_dir=ca_dir,
            ca_file=ca_file,
        )

    # -- the broker -----------------------------------------------------------------------
    def broker(self) -> AbstractContextManager[BrokerAdmin]:
        """A connected admin session (``with backend.broker() as admin: ...``)."""
        if self.broker_factory is None:
            raise ProvisioningError("not_configured", self.missing)
        return self.broker_factory()

    @property
    def configured(self) -> bool:
        return self.broker_factory is not None

    # -- the CA ---------------------------------------------------------------------------
    def ca(self) -> ProvisioningCA:
        if self.ca_dir is None:
            raise ProvisioningError(
                "ca_unavailable",
                "certificate boards need the provisioning CA: set FLEET_PROVISIONING_CA_DIR",
            )
        with self._lock:
            if self._ca is None:
                try:
                    self._ca = ProvisioningCA(self.ca_dir)
                except CAError as exc:
                    raise ProvisioningError("ca_unavailable", str(exc)) from None
            return self._ca

    def ca_pem(self) -> str | None:
        """The CA certificate boards trust (None: the system's trust store)."""
        if self.ca_file is None:
            return None
        try:
            return self.ca_file.read_text()
        except OSError as exc:
            raise ProvisioningError(
                "ca_unavailable", f"cannot read the CA certificate {self.ca_file}: {exc.strerror}"
            ) from None

    def mqtt_url(self, auth: str) -> str:
        url = self.password_url if auth == "password" else self.certificate_url
        if url is None:
            setting = (
                "FLEET_PROVISIONING_MQTT_URL"
                if auth == "password"
                else "FLEET_PROVISIONING_MQTT_CERT_URL"
            )
            raise ProvisioningError(
                "not_configured", f"the broker address for {auth} boards is unknown: set {setting}"
            )
        return url


def dynsec_factory(
    admin_url: str,
    *,
    password: str | None = None,
    ca_file: Path | str | None = None,
    timeout: float = 10.0,
) -> BrokerFactory:
    """Sessions of ``DynsecClient`` logged in as the admin of ``admin_url``."""

    @contextmanager
    def session() -> Iterator[BrokerAdmin]:
        try:
            client = DynsecClient.from_url(
                admin_url, password=password, ca_file=ca_file, timeout=timeout
            )
            client.connect()
        except DynsecError as exc:
            raise ProvisioningError("broker_unavailable", str(exc)) from None
        except BrokerUnavailable as exc:
            raise ProvisioningError("broker_unavailable", str(exc)) from None
        try:
            yield client
        finally:
            client.close()

    return session
