"""The demo's rule profile: every duration of a demo run in one place.

The platform's defaults are made for a province (a camera must be down five
minutes before anyone hears of it, a ticket opens after an hour); a demo
must show the whole story — fault, incident, notice, ticket, recovery — in
minutes. ``DemoProfile`` shortens the holds, the clear times and the
automatic tickets' delays *for the demo only*: ``fleet-server demo`` passes
``engine_settings()`` to its engine, nothing else reads it, and the
production defaults (docs/engine.md) stay as they are. The banner prints it.

``scaled(f)`` shrinks every duration by ``f`` (the tests run a scenario in
seconds); ``slack_s`` — agents starting, MQTT, engine ticks, delivery — does
not shrink.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from typing import Any

import fleet_protocol as fp
from fleet_server.engine.conditions import Timing as RuleTiming
from fleet_server.engine.rules import RuleSettings
from fleet_server.engine.service import EngineSettings
from fleet_server.engine.telemetry_rules import PICTURE_RULES
from fleet_server.simulator.scenarios import Timing
from fleet_server.tickets.models import AUTO_TICKETS

#: The screen and camera proof rules (engine/telemetry_rules.py).
PROOF_RULES = ("screen_black", "screen_frozen", "screen_wrong_content", *PICTURE_RULES)

#: Fields that are not durations (kept by ``scaled``).
_UNSCALED = {"flaps", "slack_s", "scale"}


@dataclass(frozen=True, slots=True)
class DemoProfile:
    """Seconds, from the moment the simulated boards start."""

    # -- the scenarios' clock ------------------------------------------------------
    fault_at_s: float = 15.0
    #: the fault is repaired (camera, screen, content, agent)
    repair_at_s: float = 180.0
    #: a site's mains come back (site-power-cut)
    power_back_s: float = 240.0
    #: a full UPS keeps a board running this long on battery
    battery_runtime_s: float = 90.0
    flap_down_s: tuple[float, float] = (20.0, 40.0)
    flap_up_s: tuple[float, float] = (10.0, 20.0)
    flaps: int = 3
    # -- what the simulated boards send ----------------------------------------------
    heartbeat_s: float = 30.0
    #: power, camera and display readings
    readings_s: float = 15.0
    network_s: float = 30.0
    # -- the engine --------------------------------------------------------------------
    #: mains lost this long before its incident opens (default 60 s)
    mains_hold_s: float = 20.0
    #: camera not answering / screen dark this long (default 300 s)
    fault_hold_s: float = 30.0
    #: a condition cleared this long before its incident resolves (default 60-120 s)
    clear_s: float = 30.0
    #: a board's connectivity notice waits this long for its site's (default 120 s)
    confirm_board_s: float = 30.0
    #: an incident that needs a site visit gets its ticket after (default 15-120 min)
    ticket_after_s: float = 60.0
    #: the telemetry rules and automatic tickets run this often (default 15 s)
    telemetry_every_s: float = 5.0
    #: a condition flipping three times within this is flapping (default 30 min)
    flap_window_s: float = 180.0
    #: notices of one recipient are grouped this long (default 60 s)
    notify_group_s: float = 10.0
    #: critical incidents not acknowledged are escalated after (default 15 min)
    escalate_critical_s: float = 600.0
    # -- what does not shrink ----------------------------------------------------------
    #: agents starting, MQTT, engine ticks and delivery, added to every "by" time
    slack_s: float = 20.0
    scale: float = 1.0

    def scaled(self, factor: float) -> DemoProfile:
        """Every duration times ``factor`` (``slack_s`` kept)."""
        if factor <= 0:
            raise ValueError("the scale of a demo profile must be positive")
        changes: dict[str, Any] = {"scale": self.scale * factor}
        for f in fields(self):
            if f.name in _UNSCALED:
                continue
            value = getattr(self, f.name)
            if isinstance(value, tuple):
                changes[f.name] = tuple(v * factor for v in value)
            else:
                changes[f.name] = value * factor
        return replace(self, **changes)

    # -- what the parts of the demo read -----------------------------------------------
    def timing(self) -> Timing:
        """The scenarios' offsets."""
        return Timing(
            start=self.fault_at_s,
            power_back=self.power_back_s,
            flap_down=self.flap_down_s,
            flap_up=self.flap_up_s,
            flaps=self.flaps,
            repair=self.repair_at_s,
        )

    def intervals(self) -> dict[fp.TelemetryKind, float]:
        """How often the simulated boards measure (never under half a second)."""
        kinds = fp.TelemetryKind
        chosen = {
            kinds.HEARTBEAT: self.heartbeat_s,
            kinds.POWER: self.readings_s,
            kinds.NETWORK: self.network_s,
            kinds.CAMERA: self.readings_s,
            kinds.DISPLAY: self.readings_s,
        }
        return {kind: max(0.5, seconds) for kind, seconds in chosen.items()}

    def telemetry_params(self) -> dict[str, dict[str, Any]]:
        """The telemetry rules' defaults this profile changes."""
        clear = {"clear_for_s": self.clear_s}
        # what the screen and camera pictures show (issue 18): the same hold as
        # a dark screen or a camera not answering
        fault = {"for_s": self.fault_hold_s, **clear}
        return {
            "mains_lost": {"for_s": self.mains_hold_s, **clear},
            "battery_low": clear,
            "camera_unreachable": dict(fault),
            "display_dark": dict(fault),
            "content_unapproved": clear,
            "network_degraded": {"for_s": 2 * self.fault_hold_s, "clear_for_s": 2 * self.clear_s},
        } | {rule: dict(fault) for rule in PROOF_RULES}

    def auto_ticket_delays(self) -> dict[str, float]:
        """Seconds before each automatic ticket. A failing UPS battery waits
        longer: in site-power-cut the site's ticket is the one to open."""
        return dict.fromkeys(AUTO_TICKETS, self.ticket_after_s) | {
            "battery_low": 5 * self.ticket_after_s
        }

    def engine_settings(self, base: EngineSettings | None = None) -> EngineSettings:
        """``base`` (default settings) with this profile's rules and alerts."""
        base = base or EngineSettings()
        connectivity = RuleTiming(
            for_s=0, clear_for_s=self.clear_s, flap_window_s=self.flap_window_s
        )
        delays = self.auto_ticket_delays()
        return replace(
            base,
            telemetry_every_s=self.telemetry_every_s,
            rules=RuleSettings(
                board_lost=connectivity, board_stale=connectivity, site_outage=connectivity
            ),
            alerts=replace(
                base.alerts,
                confirm_board_s=self.confirm_board_s,
                reminder_s=self.escalate_critical_s,
                escalate_after_s={
                    "critical": self.escalate_critical_s,
                    "major": 3 * self.escalate_critical_s,
                },
                auto_tickets={
                    rule: replace(ticket, after_s=delays[rule])
                    for rule, ticket in AUTO_TICKETS.items()
                },
            ),
            telemetry_params=self.telemetry_params(),
        )

    def describe(self) -> str:
        """One line for the banner."""
        return (
            f"mất điện {_s(self.mains_hold_s)}, camera/màn hình {_s(self.fault_hold_s)}, "
            f"phiếu sau {_s(self.ticket_after_s)} / mains lost {_s(self.mains_hold_s)}, "
            f"camera/screen {_s(self.fault_hold_s)}, clear {_s(self.clear_s)}, "
            f"tickets after {_s(self.ticket_after_s)}, UPS {_s(self.battery_runtime_s)}"
        )


def _s(seconds: float) -> str:
    return f"{seconds:g} s" if seconds < 120 else f"{seconds / 60:g} min"


DEMO_PROFILE = DemoProfile()
