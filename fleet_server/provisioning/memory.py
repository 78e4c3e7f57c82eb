"""A broker admin that keeps its accounts in memory: for an API under test (the
fuzzer) or a demo without the dynamic-security plugin. It behaves as
``DynsecClient`` does for the operations provisioning uses — idempotent
``ensure_board``, "Client not found" for a missing account, no board account
under a service's name — but no board can log in anywhere with what it holds.
"""

from __future__ import annotations

import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fleet_server.broker.acls import board_role_name
from fleet_server.broker.ca import ProvisioningCA
from fleet_server.broker.errors import DynsecError
from fleet_server.provisioning.backend import BrokerAdmin, ProvisioningBackend


@dataclass
class _Account:
    roles: set[str]
    password_set: bool
    disabled: bool = False


@dataclass
class MemoryBroker:
    """Accounts and roles in a dict; thread-safe. ``service_accounts`` are
    names that exist with a non-board role (as the admin and server do)."""

    service_accounts: tuple[str, ...] = ("fleet-admin", "fleet-server")
    accounts: dict[str, _Account] = field(default_factory=dict)
    roles: set[str] = field(default_factory=set)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def __post_init__(self) -> None:
        for name in self.service_accounts:
            self.accounts[name] = _Account({name}, password_set=True)

    def get_client(self, username: str) -> dict[str, Any] | None:
        with self._lock:
            account = self.accounts.get(username)
            if account is None:
                return None
            return {
                "username": username,
                "disabled": account.disabled,
                "roles": [{"rolename": r} for r in sorted(account.roles)],
            }

    def _board(self, board_id: str, command: str) -> _Account:
        account = self.accounts.get(board_id)
        if account is None:
            raise DynsecError(command, "Client not found", board_id)
        if account.roles - {board_role_name(board_id)}:
            raise DynsecError(command, "not a board account", board_id)
        return account

    def ensure_board(self, board_id: str, password: str | None) -> None:
        with self._lock:
            role = board_role_name(board_id)
            self.roles.add(role)
            account = self.accounts.get(board_id)
            if account is None:
                self.accounts[board_id] = _Account({role}, password_set=password is not None)
                return
            self._board(board_id, "ensure_board").roles.add(role)
            if password is not None:
                account.password_set = True

    def set_password(self, username: str, password: str) -> None:
        with self._lock:
            self._board(username, "setClientPassword").password_set = True

    def disable_board(self, board_id: str) -> None:
        with self._lock:
            account = self._board(board_id, "removeClientRole")
            account.roles.discard(board_role_name(board_id))
            account.disabled = True

    def enable_board(self, board_id: str) -> None:
        with self._lock:
            account = self._board(board_id, "enableClient")
            self.roles.add(board_role_name(board_id))
            account.roles.add(board_role_name(board_id))
            account.disabled = False

    def delete_board(self, board_id: str) -> bool:
        with self._lock:
            role = board_role_name(board_id)
            existed = self.accounts.pop(board_id, None) is not None or role in self.roles
            self.roles.discard(role)
            return existed


def memory_backend(
    broker: MemoryBroker | None = None,
    *,
    ca_dir: Path | None = None,
    mqtt_url: str = "mqtts://mqtt.invalid:8883",
    cert_url: str = "mqtts://mqtt.invalid:8884",
) -> ProvisioningBackend:
    """A complete backend around a MemoryBroker, with a provisioning CA
    created in ``ca_dir`` (a new temporary directory when None)."""
    the_broker = broker or MemoryBroker()
    directory = ca_dir or Path(tempfile.mkdtemp(prefix="fleet-ca-"))
    if not ProvisioningCA.exists(directory):
        ProvisioningCA.create(directory, reserved_names=the_broker.service_accounts)

    @contextmanager
    def session() -> Iterator[BrokerAdmin]:
        yield the_broker

    return ProvisioningBackend(
        session,
        password_url=mqtt_url,
        certificate_url=cert_url,
        ca_dir=directory,
        ca_file=directory / ProvisioningCA.CERT,
    )
