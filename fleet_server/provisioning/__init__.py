"""Board provisioning: database row, broker account and credentials together
(docs/provisioning.md).

The names below are imported on first use, so that ``fleet-server``'s argument
parser (which imports ``fleet_server.provisioning.cli``) stays light."""

from __future__ import annotations

import importlib
from pathlib import PurePosixPath
from typing import TYPE_CHECKING, Any

#: Where a board keeps its files; the generated agent.toml points there.
DEFAULT_BOARD_DIR = PurePosixPath("/etc/fleet")

if TYPE_CHECKING:
    from fleet_server.provisioning.backend import (
        BrokerAdmin,
        ProvisioningBackend,
        dynsec_factory,
    )
    from fleet_server.provisioning.credentials import new_password
    from fleet_server.provisioning.csvimport import ImportFileError, ImportReport, RowResult
    from fleet_server.provisioning.models import (
        BoardBundle,
        BoardRecord,
        CameraSpec,
        Changed,
        NewBoard,
        Provisioned,
        ProvisioningError,
    )
    from fleet_server.provisioning.service import ProvisioningService
    from fleet_server.provisioning.storage import load_board

_WHERE = {
    "BrokerAdmin": "backend",
    "ProvisioningBackend": "backend",
    "dynsec_factory": "backend",
    "ImportFileError": "csvimport",
    "ImportReport": "csvimport",
    "RowResult": "csvimport",
    "BoardBundle": "models",
    "BoardRecord": "models",
    "CameraSpec": "models",
    "Changed": "models",
    "NewBoard": "models",
    "Provisioned": "models",
    "ProvisioningError": "models",
    "ProvisioningService": "service",
    "load_board": "storage",
    "new_password": "credentials",
}


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{module}"), name)


__all__ = [
    "DEFAULT_BOARD_DIR",
    "BoardBundle",
    "BoardRecord",
    "BrokerAdmin",
    "CameraSpec",
    "Changed",
    "ImportFileError",
    "ImportReport",
    "NewBoard",
    "Provisioned",
    "ProvisioningBackend",
    "ProvisioningError",
    "ProvisioningService",
    "RowResult",
    "dynsec_factory",
    "load_board",
    "new_password",
]
