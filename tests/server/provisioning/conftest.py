"""Provisioning fixtures: one production-configured Mosquitto (TLS, mTLS,
dynamic security) for the module, a fresh seeded database per test, and the
provisioning backend pointed at both."""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from edge_agent.config import AgentConfig, load_config
from edge_agent.session import Session
from fleet_server.access.principal import Actor
from fleet_server.broker.dynsec import DynsecClient
from fleet_server.broker.errors import DynsecError
from fleet_server.provisioning import (
    BrokerAdmin,
    ProvisioningBackend,
    ProvisioningService,
    dynsec_factory,
)
from fleet_server.simulator.seed import fleet_specs, seed
from tests.support.secure_broker import MqttProbe, SecureBroker

Conn = psycopg.Connection[Any]
CLI = Actor("system:cli")

_names = itertools.count(1)


def unique(prefix: str) -> str:
    """Board ids differ across the tests that share one broker."""
    return f"{prefix}-{next(_names):03d}"


@pytest.fixture(scope="module")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SecureBroker]:
    secure = SecureBroker.create(tmp_path_factory.mktemp("secure-broker"))
    secure.start()
    yield secure
    secure.stop()


@pytest.fixture
def admin(broker: SecureBroker) -> Iterator[DynsecClient]:
    """The test's own admin session, to look at what provisioning did."""
    with broker.dynsec() as client:
        yield client


def backend_for(broker: SecureBroker) -> ProvisioningBackend:
    return ProvisioningBackend(
        dynsec_factory(broker.admin_url, password=broker.admin_password, ca_file=broker.ca_file),
        password_url=broker.tls_url,
        certificate_url=broker.mtls_url,
        ca_dir=broker.files.ca_dir,
        ca_file=broker.ca_file,
    )


@pytest.fixture
def backend(broker: SecureBroker) -> ProvisioningBackend:
    return backend_for(broker)


@pytest.fixture
def service(backend: ProvisioningBackend) -> ProvisioningService:
    return ProvisioningService(backend)


@pytest.fixture
def seeded(db_url: str) -> str:
    """Organisations, sites (and 14 boards from before provisioning)."""
    with psycopg.connect(db_url) as conn:
        seed(conn, fleet_specs(14))
    return db_url


@pytest.fixture
def conn(seeded: str) -> Iterator[Conn]:
    with psycopg.connect(seeded, autocommit=True) as connection:
        yield connection


class RefusingBroker:
    """A seam of the tests' own: the real admin session, except that the
    broker "refuses" the operations named in ``refuse`` for the boards in
    ``boards`` — after doing part of the work, as a broker that fails between
    two commands of a batch would (``ensure_board`` creates the role first)."""

    def __init__(self, inner: BrokerAdmin, boards: set[str], refuse: set[str]) -> None:
        self.inner = inner
        self.boards = boards
        self.refuse = refuse
        self.after_success: Callable[[str, str], None] | None = None

    def _check(self, operation: str, board_id: str) -> None:
        if board_id in self.boards and operation in self.refuse:
            raise DynsecError(operation, "Refused by the test", board_id)

    def get_client(self, username: str) -> dict[str, Any] | None:
        return self.inner.get_client(username)

    def ensure_board(self, board_id: str, password: str | None) -> None:
        if board_id in self.boards and "ensure_board" in self.refuse:
            assert isinstance(self.inner, DynsecClient)
            from fleet_server.broker.acls import board_acls, board_role_name  # noqa: PLC0415

            self.inner.ensure_role(board_role_name(board_id), board_acls(board_id))
            raise DynsecError("createClient", "Refused by the test", board_id)
        self.inner.ensure_board(board_id, password)
        if self.after_success is not None:
            self.after_success("ensure_board", board_id)

    def set_password(self, username: str, password: str) -> None:
        self._check("set_password", username)
        self.inner.set_password(username, password)

    def disable_board(self, board_id: str) -> None:
        self._check("disable_board", board_id)
        self.inner.disable_board(board_id)
        if self.after_success is not None:
            self.after_success("disable_board", board_id)

    def enable_board(self, board_id: str) -> None:
        self._check("enable_board", board_id)
        self.inner.enable_board(board_id)

    def delete_board(self, board_id: str) -> bool:
        self._check("delete_board", board_id)
        return self.inner.delete_board(board_id)


def agent_config(path: Path, tmp_path: Path) -> AgentConfig:
    """The generated agent.toml as the agent reads it (no environment)."""
    return load_config(path, environ={}, spool_path=tmp_path / "spool.db")


def agent_session(config: AgentConfig) -> Session:
    seq = itertools.count(1)
    return Session(
        config,
        boot=1,
        next_seq=lambda: next(seq),
        on_message=lambda _topic, _payload: None,
        wake=threading.Event(),
        heartbeat_interval=lambda: 30.0,
    )


@pytest.fixture
def server(broker: SecureBroker) -> Iterator[MqttProbe]:
    """The fleet server's account, subscribed to every board's state topic."""
    probe = broker.server_probe(unique("fleet-server-probe"))
    assert probe.connect().ok
    assert not any(c.is_failure for c in probe.subscribe("fleet/v1/+/state"))
    yield probe
    probe.close()


def dump(conn: Conn, *tables: str) -> str:
    """Every row of the tables as text (to search for a secret)."""
    out = []
    for table in tables:
        out += [repr(r) for r in conn.execute(f"SELECT t::text FROM {table} t")]
    return "\n".join(out)
