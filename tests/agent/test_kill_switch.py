"""The kill switch on the board (Điều 12.2): blank_screen, stop_content and
resume carried out through the player/display seam the agent owns
(``player=``), the order kept across restarts, every display reading marked
while halted, bad arguments rejected with the reason.

Điều 12.2, word for word: "Chủ trì quản lý, khai thác Cụm Thông tin điện tử
công cộng khu vực biên giới được giao quản lý. Xây dựng khung giờ phát, lịch
đăng phát trên cơ sở nội dung, đối tượng và địa bàn tuyên truyền đảm bảo hiệu
quả, phù hợp với tình hình thực tế. Tiếp nhận thông tin sự cố về kỹ thuật, an
ninh thông tin từ các cơ quan, đơn vị thực hiện nhiệm vụ quản lý và vận hành
các Cụm Thông tin điện tử công cộng khu vực biên giới được giao; áp dụng các
biện pháp cần thiết nhằm kịp thời ngăn chặn những thiệt hại hoặc báo cáo UBND
tỉnh và đề xuất phương án xử lý, khắc phục sự cố xảy ra vượt quá thẩm quyền
giải quyết."
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest

import fleet_protocol as fp
from edge_agent.agent import Agent
from edge_agent.cli import main
from edge_agent.collectors import simulated_collectors
from edge_agent.config import DisplayConfig, load_config
from edge_agent.kill_switch import HaltStore, SystemPlayerControl
from edge_agent.simulation import SimulatedBoard
from tests.agent.conftest import FakeCollector
from tests.agent.test_commands import DEVICE, command, send

REASON = "tệp chưa được duyệt đang phát (sự cố #12)"


def make_agent(spool: Path, sim: SimulatedBoard | None = None, **kw: Any) -> Agent:
    config = load_config(
        None, device_id=DEVICE, spool_path=spool, mqtt_url="mqtt://127.0.0.1:9", **kw
    )  # never connected in these tests
    board = sim or SimulatedBoard()
    return Agent(config, sim=board, collectors=simulated_collectors(board))


@pytest.fixture
def spool(tmp_path: Path) -> Path:
    return tmp_path / "spool.db"


def halt_file(spool: Path) -> Path:
    """Where the order is kept by default: beside the spool, named after it."""
    return spool.with_name("spool.db.halt")


def sent(agent: Agent, model: type[Any]) -> list[Any]:
    found = []
    for row in agent.spool.pending(limit=1000):
        message = fp.decode(row.topic, row.payload)
        if isinstance(message, model):
            found.append(message.data)
    return found


def do(agent: Agent, name: str, request_id: str, **kw: Any) -> fp.CommandResultData:
    """Send one command; the board's answer to it."""
    [answer] = [
        a for a in send(agent, command(name, request_id, **kw)) if a.request_id == request_id
    ]
    return answer


def last_display(agent: Agent) -> fp.DisplayData:
    return sent(agent, fp.DisplayMessage)[-1]  # type: ignore[no-any-return]


def events(agent: Agent, kind: str) -> list[fp.EventData]:
    return [e for e in sent(agent, fp.EventMessage) if e.type == kind]


def test_blank_screen_blanks_and_reports_it(spool: Path) -> None:
    agent = make_agent(spool)
    result = do(agent, "blank_screen", "k-1", reason=REASON)
    assert (result.request_id, result.command, result.status) == ("k-1", "blank_screen", "ok")
    assert result.output is not None
    assert result.output["halted"] == "blank_screen"
    assert result.output["detail"] == "simulated screen blanked and player stopped"
    assert agent.sim is not None
    assert (agent.sim.screen_on, agent.sim.player_running) == (False, False)
    reading = last_display(agent)  # taken at once, before the answer
    assert reading.halted == "blank_screen"
    assert (reading.screen_on, reading.player_running, reading.content_sha256) == (
        False,
        False,
        None,
    )
    assert HaltStore(halt_file(spool)).load() is not None


def test_a_blanked_board_stays_blank_after_a_restart_until_resume(spool: Path) -> None:
    first = make_agent(spool)
    send(first, command("blank_screen", "k-1", reason=REASON))
    first.close()
    # The controller restarts: the player and the screen come back on by themselves.
    board = SimulatedBoard()
    again = make_agent(spool, board)
    assert (board.screen_on, board.player_running) == (True, True)
    again.restore_halt()  # what run() does first
    assert (board.screen_on, board.player_running) == (False, False)
    [restored] = events(again, "halt_restored")
    assert restored.details["mode"] == "blank_screen"
    assert restored.details["reason"] == REASON
    again.collect(fp.TelemetryKind.DISPLAY)
    assert last_display(again).halted == "blank_screen"
    result = do(again, "resume", "k-2", reason="đã gỡ tệp")
    assert result.status == "ok"
    assert result.output == {
        "halted": None,
        "detail": "simulated board resumed after blank_screen",
        "resumed": "blank_screen",
    }
    assert (board.screen_on, board.player_running) == (True, True)
    assert last_display(again).halted is None
    assert not halt_file(spool).exists()
    again.close()
    third = make_agent(spool)
    assert third.halted() is None


def test_stop_content_stops_the_player_and_restart_player_is_refused(spool: Path) -> None:
    agent = make_agent(spool)
    stopped = do(agent, "stop_content", "k-1", reason=REASON)
    assert stopped.status == "ok"
    assert agent.sim is not None
    assert (agent.sim.screen_on, agent.sim.player_running) == (True, False)
    assert last_display(agent).halted == "stop_content"
    refused = do(agent, "restart_player", "k-2")
    assert refused.status == "rejected"
    assert refused.error == (
        "the board is halted by order (stop_content); send resume to play again"
    )
    assert not agent.sim.player_running


def test_stop_content_while_blanked_keeps_the_screen_black(spool: Path) -> None:
    agent = make_agent(spool)
    send(agent, command("blank_screen", "k-1", reason=REASON))
    second = do(agent, "stop_content", "k-2", reason=REASON)
    assert second.status == "ok"
    assert second.output == {
        "halted": "blank_screen",
        "detail": "already blanked; the order stands",
    }
    assert agent.halted() == "blank_screen"


def test_resume_when_not_halted_changes_nothing(spool: Path) -> None:
    agent = make_agent(spool, SimulatedBoard(player_running=False))
    result = do(agent, "resume", "k-1", reason="kiểm tra")
    assert result.output == {"halted": None, "detail": "not halted: nothing to resume"}
    assert agent.sim is not None
    assert not agent.sim.player_running


@pytest.mark.parametrize(
    ("args", "error"),
    [
        ({}, 'blank_screen: reason: required: {"reason": "why the board is stopped"}'),
        ({"reason": ""}, "blank_screen: reason: give a reason: it may not be empty"),
        (
            {"reason": "   "},
            "blank_screen: reason: give a reason: it may not be empty or only spaces",
        ),
        ({"reason": 5}, "blank_screen: reason: Input should be a valid string"),
        (
            {"reason": "x", "now": True},
            "blank_screen: now: unknown argument; only reason is allowed",
        ),
        ({"reason": "x" * 501}, "blank_screen: reason: at most 500 characters"),
    ],
)
def test_bad_arguments_are_rejected_and_nothing_happens(
    spool: Path, args: dict[str, Any], error: str
) -> None:
    agent = make_agent(spool)
    result = do(agent, "blank_screen", "k-1", **args)
    assert (result.status, result.error) == ("rejected", error)
    assert agent.sim is not None
    assert agent.sim.screen_on
    assert agent.halted() is None


def test_an_expired_blank_screen_is_not_carried_out(spool: Path) -> None:
    agent = make_agent(spool)
    result = do(agent, "blank_screen", "k-1", expires_in=-1, reason=REASON)
    assert result.status == "expired"
    assert agent.sim is not None
    assert agent.sim.screen_on
    assert agent.halted() is None


def test_an_unreadable_halt_file_keeps_the_screen_blank(spool: Path) -> None:
    halt_file(spool).write_text("{not json")
    board = SimulatedBoard()
    agent = make_agent(spool, board)
    agent.restore_halt()
    assert agent.halted() == "blank_screen"
    assert not board.screen_on


# -- the seam: a real board's control, and readings while halted ------------------------


class Recorder:
    """A board's systemctl and blank/unblank commands, recorded (the seams
    SystemPlayerControl takes); ``fail`` makes the next call fail."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, ...]] = []
        self.fail: str | None = None

    def systemctl(self, *args: str) -> None:
        self._call(("systemctl", *args))

    def run(self, argv: Sequence[str]) -> None:
        self._call(tuple(argv))

    def _call(self, call: tuple[str, ...]) -> None:
        if self.fail:
            raise RuntimeError(self.fail)
        self.calls.append(call)


DISPLAY = DisplayConfig(
    player_unit="signage-player.service",
    blank_command=["vcgencmd", "display_power", "0"],
    unblank_command=["vcgencmd", "display_power", "1"],
)


def control_agent(
    spool: Path, display: DisplayConfig, on_air: Callable[[], fp.DisplayData]
) -> tuple[Agent, Recorder, FakeCollector]:
    recorder = Recorder()
    config = load_config(
        None,
        device_id=DEVICE,
        spool_path=spool,
        mqtt_url="mqtt://127.0.0.1:9",
        display=display.model_dump(),
    )
    screen = FakeCollector(fp.TelemetryKind.DISPLAY, on_air)
    agent = Agent(
        config,
        collectors={fp.TelemetryKind.DISPLAY: screen},
        player=SystemPlayerControl(config.display, recorder.systemctl, recorder.run),
    )
    agent.step()  # the first readings, all due at start
    return agent, recorder, screen


def playing() -> fp.DisplayData:
    return fp.DisplayData(screen_on=True, player_running=True, content_sha256="ab" * 32)


def test_a_real_board_blanks_with_its_own_command_and_stops_its_player(spool: Path) -> None:
    agent, recorder, screen = control_agent(spool, DISPLAY, playing)
    screen.error = "player status file /run/signage/status.json is stale"  # the player stopped
    result = do(agent, "blank_screen", "k-1", reason=REASON)
    assert result.status == "ok"
    assert recorder.calls == [
        ("vcgencmd", "display_power", "0"),
        ("systemctl", "stop", "signage-player.service"),
    ]
    # The stale status is not a failed reading while halted: the agent says what it did.
    assert last_display(agent) == fp.DisplayData(
        screen_on=False, player_running=False, halted="blank_screen"
    )
    recorder.calls.clear()
    resumed = do(agent, "resume", "k-2", reason="đã gỡ tệp")
    assert resumed.status == "ok"
    assert recorder.calls == [
        ("vcgencmd", "display_power", "1"),
        ("systemctl", "start", "signage-player.service"),
    ]


def test_content_back_on_air_while_halted_is_stopped_again(spool: Path) -> None:
    agent, recorder, _ = control_agent(spool, DISPLAY, playing)
    send(agent, command("stop_content", "k-1", reason=REASON))
    recorder.calls.clear()
    # Someone starts the player by hand (or its status file is not stale yet):
    # every reading while halted carries the order out again.
    agent.collect(fp.TelemetryKind.DISPLAY)
    agent.collect(fp.TelemetryKind.DISPLAY)
    assert recorder.calls == [("systemctl", "stop", "signage-player.service")] * 2
    assert last_display(agent) == fp.DisplayData(
        screen_on=True, player_running=False, halted="stop_content"
    )


def test_a_failing_control_answers_error_and_leaves_no_order(spool: Path) -> None:
    agent, recorder, _ = control_agent(spool, DISPLAY, playing)
    recorder.fail = "vcgencmd failed (no display attached)"
    result = do(agent, "blank_screen", "k-1", reason=REASON)
    assert (result.status, result.error) == (
        "error",
        "RuntimeError: vcgencmd failed (no display attached)",
    )
    assert agent.halted() is None
    assert not halt_file(spool).exists()


def test_blank_screen_needs_the_boards_blank_command(spool: Path) -> None:
    agent, recorder, _ = control_agent(
        spool, DisplayConfig(player_unit="signage-player.service"), playing
    )
    result = do(agent, "blank_screen", "k-1", reason=REASON)
    assert result.status == "error"
    assert result.error is not None
    assert "no display.blank_command in this board's agent.toml" in result.error
    assert recorder.calls == []
    stopped = do(agent, "stop_content", "k-2", reason=REASON)
    assert stopped.status == "ok"
    assert recorder.calls == [("systemctl", "stop", "signage-player.service")]


def test_a_failing_reapply_is_reported_once(spool: Path) -> None:
    agent, recorder, _ = control_agent(spool, DISPLAY, playing)
    send(agent, command("stop_content", "k-1", reason=REASON))
    recorder.fail = "Failed to stop signage-player.service: Access denied"
    agent.collect(fp.TelemetryKind.DISPLAY)
    agent.collect(fp.TelemetryKind.DISPLAY)
    [failed] = events(agent, "halt_failed")
    assert failed.severity == "error"
    assert "Access denied" in str(failed.details["error"])
    assert agent.halted() == "stop_content"  # the order stands
    # The reading says what was measured: on air, despite the order.
    assert last_display(agent) == playing().model_copy(update={"halted": "stop_content"})


def test_blank_and_unblank_commands_go_together() -> None:
    with pytest.raises(ValueError, match="blank_command and unblank_command go together"):
        DisplayConfig(blank_command=["xset", "dpms", "force", "off"])


def test_what_blanks_the_screen_cannot_be_changed_remotely(spool: Path) -> None:
    """The kill switch runs only what the board's own agent.toml names: a
    stolen operator account cannot make blank_screen run another program."""
    agent = make_agent(spool)
    changes = {"display": {"blank_command": ["systemctl", "poweroff"]}}
    result = do(agent, "set_config", "k-1", config=changes)
    assert result.status == "rejected"
    assert result.error is not None
    assert "not changeable remotely: display.blank_command" in result.error
    assert agent.config.display.blank_command is None


def test_a_halt_file_that_cannot_be_written_does_not_stop_the_blank(tmp_path: Path) -> None:
    """Stopping the harm comes first: the screen goes black, and the answer
    says the order will not survive a restart."""
    (tmp_path / "not-a-dir").write_text("")
    agent = make_agent(tmp_path / "spool.db", halt_file=tmp_path / "not-a-dir" / "halt.json")
    assert agent.halted() is None
    result = do(agent, "blank_screen", "k-1", reason=REASON)
    assert result.status == "ok"
    assert result.output is not None
    assert str(result.output["warning"]).startswith("not kept across a restart: ")
    assert agent.sim is not None
    assert not agent.sim.screen_on
    assert agent.halted() == "blank_screen"


def test_boards_sharing_a_directory_keep_their_own_orders(tmp_path: Path) -> None:
    """The simulator runs many boards with their spools in one directory."""
    blanked = make_agent(tmp_path / "lc-a.db")
    do(blanked, "blank_screen", "k-1", reason=REASON)
    blanked.close()
    assert make_agent(tmp_path / "lc-a.db").halted() == "blank_screen"
    assert make_agent(tmp_path / "lc-b.db").halted() is None


def test_edge_agent_check_says_why_a_screen_is_dark(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A technician at the board sees the order in force, and how to end it."""
    spool = tmp_path / "spool.db"
    config = tmp_path / "agent.toml"
    config.write_text(f'device_id = "{DEVICE}"\nspool_path = "{spool}"\nsimulate = true\n')
    assert main(["--config", str(config), "check"]) == 0
    assert "kill switch" in capsys.readouterr().out
    agent = make_agent(spool)
    do(agent, "stop_content", "k-1", reason=REASON)
    agent.close()
    assert main(["--config", str(config), "check"]) == 0
    [row] = [line for line in capsys.readouterr().out.splitlines() if "kill switch" in line]
    assert "stop_content" in row
    assert f": {REASON} (send resume to end it)" in row
