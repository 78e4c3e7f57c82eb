"""``collect_logs`` on the agent: bundles through the spool, the answer when
they are made, bad arguments, a board without a journal, the report."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

import fleet_protocol as fp
from edge_agent.agent import Agent
from edge_agent.config import AgentConfig, load_config
from edge_agent.diagnostics.journal import journal_argv, read_journal
from edge_agent.errors import NotPresent
from edge_agent.simulation import SimulatedBoard
from fleet_protocol.logs import gunzip
from tests.agent.conftest import fake_collectors
from tests.agent.diagnostics.secrets import LOG_LINES, URL_PASSWORD, leaks, secret_config
from tests.agent.test_commands import answers, command

URL = f"mqtt://lc-mlt-01:{URL_PASSWORD}@127.0.0.1:9"  # never connected here


def _agent(tmp_path: Path, **extra: object) -> Agent:
    config = load_config(None, **secret_config(tmp_path, mqtt_url=URL, **extra))
    return Agent(config, collectors=fake_collectors(), sim=SimulatedBoard())


def _bundles(agent: Agent) -> list[fp.LogBundleData]:
    found = []
    for row in agent.spool.pending(limit=1000):
        message = fp.decode(row.topic, row.payload)
        if isinstance(message, fp.LogBundleMessage):
            found.append(message.data)
    return found


def _run(agent: Agent, *messages: tuple[str, bytes]) -> list[fp.CommandResultData]:
    for topic, payload in messages:
        agent._receive(topic, payload)
    agent.step()  # takes the command, starts the work
    agent.diagnostics.close(timeout_s=30)  # the worker is done
    agent.step()  # spools the bundles, answers
    return [a for a in answers(agent) if a.command == "collect_logs"]


def test_bundles_go_out_redacted_and_the_command_is_answered(tmp_path: Path) -> None:
    agent = _agent(tmp_path)
    agent.collect(fp.TelemetryKind.POWER)  # a reading for the report
    [result] = _run(agent, command("collect_logs", "logs-1", minutes=30, lines=100))
    journal, report = _bundles(agent)
    assert result.status == "ok"
    assert result.output == {
        "bundles": ["journal", "diagnostics"],
        "bytes": len(journal.body) + len(report.body),
    }
    assert (journal.kind, journal.request_id, journal.truncated) == ("journal", "logs-1", False)
    assert journal.since is not None
    assert (journal.captured_at - journal.since).total_seconds() == 30 * 60
    text = gunzip(journal.body).decode()
    assert journal.lines == len(LOG_LINES) == text.count("\n")
    assert "10.20.0.5:554/s1 timeout" in text
    doc = json.loads(gunzip(report.body))
    assert doc["agent"]["device_id"] == "lc-mlt-01"
    assert doc["collectors"]["readings"]["power"]["data"]["source"] == "ups"
    assert doc["config"]["cameras"][0]["password"] == "***"
    assert set(doc) >= {"host", "spool", "tools", "update"}
    assert leaks(text) == leaks(json.dumps(doc)) == []
    assert leaks(b"".join(row.payload for row in agent.spool.pending(limit=100)).decode()) == []


def test_a_duplicate_is_taken_once_and_a_repeat_after_the_answer_ignored(tmp_path: Path) -> None:
    agent = _agent(tmp_path)
    asked = command("collect_logs", "logs-2", include=["journal"])
    assert len(_run(agent, asked, asked)) == 1
    assert len(_run(agent, asked)) == 1  # answered already: the spool remembers
    assert [b.kind for b in _bundles(agent)] == ["journal"]


@pytest.mark.parametrize(
    ("args", "words"),
    [
        ({"minutes": 0}, "minutes"),
        ({"lines": 5001}, "lines"),
        ({"include": ["coredump"]}, "include"),
        ({"since": "yesterday"}, "since"),
    ],
)
def test_bad_arguments_are_rejected_at_once(
    tmp_path: Path, args: dict[str, Any], words: str
) -> None:
    agent = _agent(tmp_path)
    agent._receive(*command("collect_logs", "logs-3", **args))
    agent.step()
    [result] = answers(agent)
    assert result.status == "rejected"
    assert words in (result.error or "")
    assert not agent.diagnostics.busy
    assert _bundles(agent) == []


def test_a_board_without_journalctl_says_so_in_the_extract(tmp_path: Path) -> None:
    config = load_config(None, **secret_config(tmp_path))
    config = config.model_copy(
        update={"diagnostics": config.diagnostics.model_copy(update={"journal_command": None})}
    )

    def missing(argv: Sequence[str], timeout_s: float) -> tuple[int, str, str]:
        assert argv[0] == "journalctl"
        raise NotPresent("journalctl is not installed or not executable")

    extract = read_journal(config, 60, 100, lambda text: text, run=missing)
    assert extract.errors == ["journal: journalctl is not installed or not executable"]
    assert extract.lines == ["-- journal: journalctl is not installed or not executable\n"]


def test_the_journal_command_and_log_files(tmp_path: Path) -> None:
    config = load_config(None, device_id="lc-mlt-01", spool_path=tmp_path / "s.db")
    assert journal_argv(config, 15, 200) == [
        "journalctl", "-u", "edge-agent.service", "--since", "-15min", "-n", "200",
        "-o", "short-iso", "--no-pager",
    ]  # fmt: skip
    player = tmp_path / "player.log"
    player.write_text("".join(f"line {i}\n" for i in range(50)))
    config = AgentConfig.model_validate(
        {
            "device_id": "lc-mlt-01",
            "display": {"player_unit": "signage-player.service"},
            "diagnostics": {
                "journal_command": [],
                "log_files": [str(player), str(tmp_path / "gone")],
            },
        }
    )
    assert journal_argv(config, 15, 200) == []
    extract = read_journal(config, 15, 10, lambda text: text)
    assert extract.lines[0] == f"==> {player} <==\n"
    assert extract.lines[1:-1] == [
        f"line {i}\n" for i in range(46, 50)
    ]  # 10 lines for two sources, a header each
    assert extract.lines[-1].startswith(f"-- {tmp_path / 'gone'}: No such file")
    config = config.model_copy(
        update={"diagnostics": config.diagnostics.model_copy(update={"journal_command": None})}
    )
    assert journal_argv(config, 15, 200)[:5] == [
        "journalctl", "-u", "edge-agent.service", "-u", "signage-player.service",
    ]  # fmt: skip
