"""The agent's collectors, one per telemetry kind, each with a real and a simulated backend."""

from __future__ import annotations

from edge_agent.collectors.base import Collector
from edge_agent.collectors.camera import CameraCollector, SimulatedCameraCollector
from edge_agent.collectors.display import DisplayCollector, SimulatedDisplayCollector
from edge_agent.collectors.network import NetworkCollector, SimulatedNetworkCollector
from edge_agent.collectors.power import (
    PowerSupplyCollector,
    SimulatedPowerCollector,
    UpsCollector,
)
from edge_agent.collectors.system import SimulatedSystemCollector, SystemCollector
from edge_agent.config import AgentConfig
from edge_agent.proof import Proof
from edge_agent.simulation import SimulatedBoard
from fleet_protocol import TelemetryKind

__all__ = ["Collector", "build_collectors", "simulated_collectors"]


def simulated_collectors(sim: SimulatedBoard) -> dict[TelemetryKind, Collector]:
    """Every kind on its simulated backend, reading ``sim``."""
    return {
        TelemetryKind.HEARTBEAT: SimulatedSystemCollector(sim),
        TelemetryKind.POWER: SimulatedPowerCollector(sim),
        TelemetryKind.NETWORK: SimulatedNetworkCollector(sim),
        TelemetryKind.CAMERA: SimulatedCameraCollector(sim),
        TelemetryKind.DISPLAY: SimulatedDisplayCollector(sim),
    }


def build_collectors(
    config: AgentConfig, sim: SimulatedBoard | None, proof: Proof | None = None
) -> dict[TelemetryKind, Collector]:
    """Simulated backends reading ``sim`` when given, the board's real ones
    otherwise; ``proof`` adds screen and camera proof to the display and
    camera readings."""
    if sim is not None:
        return simulated_collectors(sim)
    power: Collector
    if config.power.ups:
        power = UpsCollector(config.power.ups)
    else:
        power = PowerSupplyCollector(config.power.power_supply_path)
    return {
        TelemetryKind.HEARTBEAT: SystemCollector(disk_path=config.spool_path.parent),
        TelemetryKind.POWER: power,
        TelemetryKind.NETWORK: NetworkCollector(config.network),
        TelemetryKind.CAMERA: CameraCollector(
            config.cameras, proof=proof, default_accounts=config.capture.default_credentials
        ),
        TelemetryKind.DISPLAY: DisplayCollector(config.display, proof=proof),
    }
