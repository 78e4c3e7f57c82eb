"""build_collectors: simulated backends for a simulated board, real ones otherwise."""

from __future__ import annotations

from pathlib import Path

from edge_agent.collectors import build_collectors
from edge_agent.collectors.camera import CameraCollector
from edge_agent.collectors.display import DisplayCollector
from edge_agent.collectors.network import NetworkCollector
from edge_agent.collectors.power import PowerSupplyCollector, UpsCollector
from edge_agent.collectors.system import SystemCollector
from edge_agent.config import AgentConfig
from edge_agent.simulation import SimulatedBoard
from fleet_protocol import TelemetryKind
from fleet_protocol.messages import (
    CameraData,
    DisplayData,
    HeartbeatData,
    NetworkData,
    PowerData,
)
from tests.support.clock import Clock

MODELS = {
    TelemetryKind.HEARTBEAT: HeartbeatData,
    TelemetryKind.POWER: PowerData,
    TelemetryKind.NETWORK: NetworkData,
    TelemetryKind.CAMERA: CameraData,
    TelemetryKind.DISPLAY: DisplayData,
}


def config(**values: object) -> AgentConfig:
    return AgentConfig.model_validate({"device_id": "lc-mlt-01", **values})


def test_simulated_board_gets_simulated_collectors() -> None:
    clock = Clock()
    board = SimulatedBoard(clock=clock.monotonic)
    collectors = build_collectors(config(power={"ups": "ups@localhost"}), board)
    assert set(collectors) == set(TelemetryKind)
    for kind, collector in collectors.items():
        assert (collector.kind, collector.backend) == (kind, "simulated")
        assert isinstance(collector.collect(), MODELS[kind])

    board.mains = False
    clock.advance(600)
    power = collectors[TelemetryKind.POWER].collect()
    assert isinstance(power, PowerData)
    assert power.on_battery


def test_real_board_with_a_ups() -> None:
    collectors = build_collectors(config(power={"ups": "ups@localhost"}), None)
    assert set(collectors) == set(TelemetryKind)
    power = collectors[TelemetryKind.POWER]
    assert isinstance(power, UpsCollector)
    assert power.backend == "upsc ups@localhost"
    assert isinstance(collectors[TelemetryKind.HEARTBEAT], SystemCollector)
    assert isinstance(collectors[TelemetryKind.NETWORK], NetworkCollector)
    assert isinstance(collectors[TelemetryKind.CAMERA], CameraCollector)
    assert isinstance(collectors[TelemetryKind.DISPLAY], DisplayCollector)
    for kind, collector in collectors.items():
        assert collector.kind == kind


def test_real_board_without_a_ups_reads_sysfs(tmp_path: Path) -> None:
    collectors = build_collectors(config(power={"power_supply_path": tmp_path}), None)
    power = collectors[TelemetryKind.POWER]
    assert isinstance(power, PowerSupplyCollector)
    assert power.backend == "sysfs"
