"""Board provisioning: database row, broker account and credentials together
(docs/provisioning.md)."""

from __future__ import annotations

from fleet_server.provisioning.backend import BrokerAdmin, ProvisioningBackend, dynsec_factory
from fleet_server.provisioning.csvimport import ImportFileError, ImportReport, RowResult
from fleet_server.provisioning.models import (
    Actor,
    BoardBundle,
    BoardRecord,
    CameraSpec,
    Changed,
    NewBoard,
    Provisioned,
    ProvisioningError,
)
from fleet_server.provisioning.service import ProvisioningService, load_board, new_password

__all__ = [
    "Actor",
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
