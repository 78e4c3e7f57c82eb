"""bench.ingest's same-run baseline and its publishers, at a tiny scale against
a real Mosquitto: the bare sink counts every message and leaves no session
behind; a failing publisher fails the run instead of counting "lost"."""

from __future__ import annotations

import argparse

import pytest

from bench.ingest import parser, run_baseline
from bench.ingest_publishers import PublisherFailed
from tests.support.mosquitto import Mosquitto

pytestmark = pytest.mark.slow


def _args(*argv: str) -> argparse.Namespace:
    return parser().parse_args(["--baseline-only", "--stall", "5", "--timeout", "60", *argv])


@pytest.mark.timeout(60)
def test_bare_sink_counts_every_message_and_ends_its_session(mosquitto: Mosquitto) -> None:
    first = run_baseline(_args("--messages", "2000", "--publishers", "2"), mosquitto)
    assert first["received"] == 2000
    assert first["lost"] == 0
    assert isinstance(first["msgs_per_s"], int)
    assert first["msgs_per_s"] > 0
    cpu = first["cpu"]
    assert isinstance(cpu, dict)
    assert {"sink", "mosquitto", "publishers"} <= set(cpu["percent_of_one_core"])
    assert cpu["consumer_cpu_us_per_message"] > 0

    # Same broker again, paho publishers with a window far smaller than what
    # they send (backpressure): had the first sink's session stayed in the
    # shared group, the broker would queue half of these for it and this sink
    # would stall.
    paho = ("--publisher", "paho", "--window", "20", "--devices", "7")
    again = run_baseline(_args("--messages", "1000", "--publishers", "2", *paho), mosquitto)
    assert again["received"] == 1000
    assert again["lost"] == 0


@pytest.mark.timeout(60)
def test_a_failing_publisher_fails_the_run_instead_of_counting_lost(
    mosquitto: Mosquitto,
) -> None:
    args = _args(
        "--messages", "2000", "--publishers", "2", "--publisher", "paho",
        "--fail-publisher-after", "300",
    )  # fmt: skip
    with pytest.raises(PublisherFailed, match=r"paho publisher \d: told to fail after 300"):
        run_baseline(args, mosquitto)
