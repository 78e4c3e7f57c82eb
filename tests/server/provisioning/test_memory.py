"""The in-memory broker admin (for an API under test or a demo) keeps the
same contract as the real one, so the service behaves the same on it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from fleet_server.broker.acls import board_role_name
from fleet_server.errors import RequestError
from fleet_server.provisioning import (
    ImportFileError,
    NewBoard,
    ProvisioningError,
    ProvisioningService,
)
from fleet_server.provisioning.memory import MemoryBroker, memory_backend
from tests.server.provisioning.conftest import CLI, Conn


def test_the_lifecycle_on_the_memory_broker(conn: Conn, tmp_path: Path) -> None:
    broker = MemoryBroker()
    service = ProvisioningService(memory_backend(broker, ca_dir=tmp_path / "ca"))
    service.add_board(conn, NewBoard("lc-mem-01", "Bảng", site="ma-lu-thang"), CLI)
    done = service.add_board(
        conn, NewBoard("lc-mem-02", "Bảng", site="ma-lu-thang", auth="certificate"), CLI
    )
    assert done.bundle.private_key_pem is not None
    client = broker.get_client("lc-mem-01")
    assert client is not None
    assert client["roles"] == [{"rolename": board_role_name("lc-mem-01")}]
    service.disable_board(conn, "lc-mem-01", CLI)
    assert broker.get_client("lc-mem-01") == {
        "username": "lc-mem-01",
        "disabled": True,
        "roles": [],
    }
    service.enable_board(conn, "lc-mem-01", CLI)
    rotated = service.rotate_credentials(conn, "lc-mem-02", CLI)
    assert rotated.bundle.cert_serial != done.bundle.cert_serial
    service.remove_board(conn, "lc-mem-01", CLI)
    assert broker.get_client("lc-mem-01") is None
    assert board_role_name("lc-mem-01") not in broker.roles
    # A seeded board gets its account by rotation.
    service.rotate_credentials(conn, "lc-ma-lu-thang-01", CLI)
    assert broker.get_client("lc-ma-lu-thang-01") is not None
    # A service account's name is never a board's.
    with pytest.raises(ProvisioningError) as refused:
        service.add_board(conn, NewBoard("fleet-server", "x", site="ma-lu-thang"), CLI)
    assert refused.value.reason == "bad_id"


@pytest.mark.parametrize(
    ("reason", "status"),
    [
        ("bad_id", 422),
        ("unknown_site", 404),
        ("duplicate", 409),
        ("broker_refused", 502),
        ("broker_unavailable", 503),
    ],
)
def test_a_refusal_carries_its_problem_document(reason: Any, status: int) -> None:
    """ProvisioningError is a RequestError: status from the reason, the reason
    as the problem's kind and ``reason`` member; a file that cannot be read is
    a plain 400."""
    error = ProvisioningError(reason, "x")
    assert isinstance(error, RequestError)
    assert (error.status, error.kind, error.extra) == (
        status,
        reason.replace("_", "-"),
        {"reason": reason},
    )
    whole_file = ImportFileError("no header")
    assert (whole_file.status, whole_file.kind, whole_file.extra) == (400, "bad-request", {})
