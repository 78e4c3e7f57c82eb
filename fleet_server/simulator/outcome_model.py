"""The forecast of a demo scenario: what the user will see (``Expectation``)
and by when, the whole of it (``Outcome``), and the small pieces every
scenario's forecast is built from (simulator/outcomes.py)."""

from __future__ import annotations

import math
from dataclasses import dataclass

from fleet_server.simulator.profile import DemoProfile
from fleet_server.simulator.scenarios import Fleet, _first_site, _site_boards


@dataclass(frozen=True, slots=True)
class Expectation:
    """One thing the user will see, by ``by_s`` seconds after the start."""

    key: str  # what the tests check: site_incident, ticket, notice, incident, resolved
    by_s: float
    vi: str
    en: str


@dataclass(frozen=True, slots=True)
class Outcome:
    scenario: str
    expectations: tuple[Expectation, ...]
    duration_s: float
    #: where it happens: a site code and the boards concerned
    site: str | None = None
    boards: tuple[str, ...] = ()

    def expected(self, key: str) -> Expectation:
        for e in self.expectations:
            if e.key == key:
                return e
        raise KeyError(f"{self.scenario} forecasts no {key!r}")

    def lines(self) -> list[str]:
        """The printed forecast, soonest first."""
        out = [f"{self.scenario}: điều sẽ thấy / what you will see"]
        for e in sorted(self.expectations, key=lambda e: e.by_s):
            out.append(f"  trước / by {clock(e.by_s)}  {e.vi} / {e.en}")
        out.append(
            f"  kịch bản xong trước / scenario over by {clock(self.duration_s)}"
            f" (--duration {math.ceil(self.duration_s)})"
        )
        return out


#: What the incident page shows of a screen or camera incident of a simulated
#: board: no picture (its ``screenshot`` answers that it takes none).
PICTURE_NOTE = (
    " (không có ảnh: bảng mô phỏng không có màn hình, camera thật)",
    " (no picture: a simulated board has no real screen or camera)",
)


def clock(seconds: float) -> str:
    whole = math.ceil(seconds)
    return f"{whole // 60:02d}:{whole % 60:02d}"


def round_up(seconds: float, step: float = 30.0) -> float:
    return math.ceil(seconds / step) * step


def site_and_boards(fleet: Fleet, prefer: str) -> tuple[str, tuple[str, ...]]:
    site = _first_site(fleet, prefer)
    return site, tuple(b.device_id for b in _site_boards(fleet, site))


def notice_of(p: DemoProfile, at: float, where: str) -> Expectation:
    return Expectation(
        "notice",
        at + p.notify_group_s + p.slack_s,
        f"thông báo gửi trực ban, có tên {where}",
        f"notices to the duty contacts naming {where}",
    )
