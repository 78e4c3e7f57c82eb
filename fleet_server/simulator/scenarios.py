"""Scripted scenarios: what goes wrong, where and when, printed as it happens
(Vietnamese first, English second) so a user can match it with what the
platform raises."""

from __future__ import annotations

import logging
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from edge_agent.simulation import SimulatedBoard, SimulatedContent
from fleet_server.simulator.boards import BoardSpec
from fleet_server.simulator.places import PLACES

log = logging.getLogger(__name__)

Say = Callable[[str], None]


class Board(Protocol):
    """What a scenario may see and change of a board (both fleet runtimes)."""

    spec: BoardSpec
    sim: SimulatedBoard
    powered: bool
    stuck: bool

    @property
    def device_id(self) -> str: ...

    @property
    def connected(self) -> bool: ...


class Fleet(Protocol):
    """The controls a scenario uses (runtime.Fleet and agents.AgentFleet)."""

    @property
    def boards(self) -> Mapping[str, Board]: ...

    def call_later(self, delay: float, action: Callable[[], None]) -> None: ...
    def set_link(self, board: Any, up: bool) -> None: ...
    def power_off(self, board: Any) -> None: ...
    def power_on(self, board: Any) -> None: ...


PLACE_NAMES = {p.code: p.name for p in PLACES}


@dataclass(frozen=True, slots=True)
class Timing:
    """Offsets in seconds, shortened for the demo and the tests."""

    start: float = 15.0
    power_back: float = 240.0
    flap_down: tuple[float, float] = (20.0, 60.0)
    flap_up: tuple[float, float] = (20.0, 40.0)
    flaps: int = 3
    #: the fault is repaired (camera, screen, content, agent); None: never
    repair: float | None = None


def _name(site: str) -> str:
    return PLACE_NAMES.get(site, site)


def _site_boards(fleet: Fleet, site: str) -> list[Board]:
    return [b for b in fleet.boards.values() if b.spec.site == site]


def _first_site(fleet: Fleet, prefer: str) -> str:
    sites = [b.spec.site for b in fleet.boards.values()]
    return prefer if prefer in sites else sites[0]


def _one_board(fleet: Fleet, site: str) -> Board:
    return _site_boards(fleet, _first_site(fleet, site))[0]


def site_power_cut(fleet: Fleet, say: Say, timing: Timing) -> None:
    site = _first_site(fleet, "ma-lu-thang")
    boards = _site_boards(fleet, site)

    def cut() -> None:
        for board in boards:
            board.sim.mains = False
        say(
            f"mất điện lưới tại {_name(site)}: {len(boards)} bảng chạy bằng UPS / "
            f"mains lost at {site}: {len(boards)} boards on UPS battery"
        )
        fleet.call_later(1.0, watch)

    emptied: list[bool] = []

    def watch() -> None:
        if emptied:
            return
        dead = [b for b in boards if not b.powered]
        if len(dead) < len(boards):
            fleet.call_later(1.0, watch)
        else:
            emptied.append(True)
            say(
                f"hết pin UPS: mọi bảng tại {_name(site)} đã tắt / UPS batteries empty: "
                f"every board at {site} is down"
            )

    def restore() -> None:
        watch()  # the last board may have gone down since the last look
        for board in boards:
            board.sim.mains = True
            if not board.powered:
                fleet.power_on(board)
        say(
            f"có điện trở lại tại {_name(site)}, các bảng khởi động lại / power back at {site}, "
            "boards boot again"
        )

    fleet.call_later(timing.start, cut)
    fleet.call_later(timing.power_back, restore)


def uplink_flap(fleet: Fleet, say: Say, timing: Timing) -> None:
    site = _first_site(fleet, "muong-te")
    boards = _site_boards(fleet, site)
    rng = random.Random(7)  # noqa: S311 - simulation

    def down(left: int) -> None:
        for board in boards:
            fleet.set_link(board, False)
        seconds = rng.uniform(*timing.flap_down)
        say(
            f"mất kết nối 4G tại {_name(site)} trong {seconds:.0f} s / 4G uplink down at {site} "
            f"for {seconds:.0f} s"
        )
        fleet.call_later(seconds, lambda: up(left - 1))

    def up(left: int) -> None:
        for board in boards:
            fleet.set_link(board, True)
        say(f"4G tại {_name(site)} hoạt động lại / 4G uplink back at {site}")
        if left > 0:
            fleet.call_later(rng.uniform(*timing.flap_up), lambda: down(left))

    fleet.call_later(timing.start, lambda: down(timing.flaps))


def camera_failure(fleet: Fleet, say: Say, timing: Timing) -> None:
    board = _one_board(fleet, "ma-lu-thang")

    def fail() -> None:
        camera = next(iter(board.sim.cameras))
        board.sim.cameras[camera] = False
        say(
            f"camera {camera} của {board.device_id} không trả lời RTSP / camera {camera} of "
            f"{board.device_id} stops answering RTSP"
        )

    def fix() -> None:
        camera = next(iter(board.sim.cameras))
        board.sim.cameras[camera] = True
        say(
            f"kỹ thuật viên sửa xong camera {camera} của {board.device_id} / a technician "
            f"fixed camera {camera} of {board.device_id}"
        )

    fleet.call_later(timing.start, fail)
    _repair(fleet, timing, fix)


def _repair(fleet: Fleet, timing: Timing, action: Callable[[], None]) -> None:
    if timing.repair is not None:
        fleet.call_later(timing.repair, action)


def display_off(fleet: Fleet, say: Say, timing: Timing) -> None:
    board = _one_board(fleet, "phong-tho")

    def dark() -> None:
        board.sim.screen_on = False
        say(f"màn hình {board.device_id} tắt / screen of {board.device_id} goes dark")

    def light() -> None:
        board.sim.screen_on = True
        say(f"màn hình {board.device_id} sáng lại / screen of {board.device_id} back on")

    fleet.call_later(timing.start, dark)
    _repair(fleet, timing, light)


def screen_frozen(fleet: Fleet, say: Say, timing: Timing) -> None:
    board = _one_board(fleet, "tam-duong")

    def freeze() -> None:
        board.sim.screen_picture = "frozen"
        say(
            f"màn hình {board.device_id} đứng hình: trình phát vẫn chạy nhưng màn hình giữ"
            f" một khung hình / screen of {board.device_id} freezes: the player runs on,"
            " the screen keeps one picture"
        )

    def thaw() -> None:
        board.sim.screen_picture = "ok"
        say(
            f"màn hình {board.device_id} hiển thị bình thường lại / screen of "
            f"{board.device_id} shows the content again"
        )

    fleet.call_later(timing.start, freeze)
    _repair(fleet, timing, thaw)


def camera_covered(fleet: Fleet, say: Say, timing: Timing) -> None:
    board = _one_board(fleet, "u-ma-tu-khoong")

    def cover() -> None:
        camera = next(iter(board.sim.cameras))
        board.sim.camera_views[camera] = "covered"
        say(
            f"camera {camera} của {board.device_id} bị che ống kính (vẫn trả lời RTSP) /"
            f" camera {camera} of {board.device_id} is covered (RTSP still answers)"
        )

    def uncover() -> None:
        camera = next(iter(board.sim.cameras))
        board.sim.camera_views.pop(camera, None)
        say(
            f"đã gỡ vật che camera {camera} của {board.device_id} / camera {camera} of "
            f"{board.device_id} uncovered"
        )

    fleet.call_later(timing.start, cover)
    _repair(fleet, timing, uncover)


def unapproved_content(fleet: Fleet, say: Say, timing: Timing) -> None:
    board = _one_board(fleet, "tp-lai-chau")

    def play() -> None:
        board.sim.content = SimulatedContent("quang-cao-chua-duyet-01", "advertising", "vi")
        say(
            f"{board.device_id} phát tệp chưa được duyệt (SHA-256 {board.sim.content.sha256[:12]}…)"
            f" / {board.device_id} plays an unapproved file"
        )

    def withdraw() -> None:
        board.sim.content = SimulatedContent()
        say(
            f"{board.device_id} trở lại nội dung đã duyệt / {board.device_id} back to "
            "approved content"
        )

    fleet.call_later(timing.start, play)
    _repair(fleet, timing, withdraw)


def stuck_agent(fleet: Fleet, say: Say, timing: Timing) -> None:
    board = _one_board(fleet, "sin-ho")

    def freeze() -> None:
        board.stuck = True
        say(
            f"agent trên {board.device_id} treo: vẫn kết nối nhưng không gửi nhịp tim / "
            f"agent on {board.device_id} stuck: connected, heartbeat frozen"
        )

    def thaw() -> None:
        board.stuck = False
        say(f"agent trên {board.device_id} chạy lại / agent on {board.device_id} runs again")

    fleet.call_later(timing.start, freeze)
    _repair(fleet, timing, thaw)


def normal(fleet: Fleet, say: Say, timing: Timing) -> None:
    fleet.call_later(
        timing.start, lambda: say("mọi bảng hoạt động bình thường / every board runs normally")
    )


SCENARIOS: dict[str, Callable[[Fleet, Say, Timing], None]] = {
    "normal": normal,
    "site-power-cut": site_power_cut,
    "uplink-flap": uplink_flap,
    "camera-failure": camera_failure,
    "display-off": display_off,
    "screen-frozen": screen_frozen,
    "camera-covered": camera_covered,
    "unapproved-content": unapproved_content,
    "stuck-agent": stuck_agent,
}
