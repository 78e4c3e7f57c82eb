"""Engine fixtures: a seeded database, messages stored as ingest stores them,
and a clock the test moves."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from email.message import EmailMessage
from typing import Any

import psycopg
import pytest

import fleet_protocol as fp
from fleet_server.notifications.worker import NotificationWorker
from fleet_server.telemetry.storage import Accepted, BatchWriter
from tests.server.ingest.conftest import make_settings  # noqa: F401 - shared fixture
from tests.server.notifications.conftest import SmtpSink, notification_settings
from tests.support import seed
from tests.support.clock import Clock

Conn = psycopg.Connection[Any]


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def seeded(db_url: str) -> str:
    """14 boards on 12 sites (Ma Lù Thàng and Phong Thổ… have two)."""
    with psycopg.connect(db_url) as conn:
        seed.demo_fleet(conn, 14)
    return db_url


class Store:
    """Writes board messages through ingest's own BatchWriter."""

    def __init__(self, url: str, clock: Clock) -> None:
        self.conn: Conn = psycopg.connect(url)
        self.writer = BatchWriter(self.conn)
        self.clock = clock
        self.seq: dict[tuple[str, int], int] = {}
        #: how far the boards' clocks are ahead of the server's (negative: behind)
        self.board_clock = timedelta(0)

    def board_now(self) -> datetime:
        """The time on the board's clock now."""
        return self.clock() + self.board_clock

    def _seq(self, device: str, boot: int) -> int:
        value = self.seq.get((device, boot), 0)
        self.seq[(device, boot)] = value + 1
        return value

    def send(self, message: Any, topic: str) -> None:
        payload = fp.encode(message)
        self.writer.write([Accepted(message, self.clock(), topic, payload)], [])

    def state(
        self,
        device: str,
        status: str,
        *,
        boot: int = 1,
        seq: int | None = None,
        interval: int | None = 30,
    ) -> None:
        now = self.board_now()
        message = fp.StateMessage(
            schema_version=1,
            device_id=device,
            boot=boot,
            seq=self._seq(device, boot) if seq is None else seq,
            measured_at=now,
            sent_at=now,
            data=fp.StateData(
                status=status,  # type: ignore[arg-type]
                heartbeat_interval_s=interval,
            ),
        )
        self.send(message, fp.state_topic(device))

    def reading(
        self,
        device: str,
        kind: fp.TelemetryKind,
        data: Any,
        *,
        boot: int = 1,
        held: timedelta = timedelta(0),
    ) -> None:
        """One telemetry message of ``kind`` with the next seq, sent now by the
        board's clock; ``held``: measured that long before (a spool replay)."""
        now = self.board_now()
        message = fp.TELEMETRY_MODELS[kind](
            schema_version=1,
            device_id=device,
            boot=boot,
            seq=self._seq(device, boot),
            measured_at=now - held,
            sent_at=now,
            replay=held > timedelta(0),
            data=data,
        )
        self.send(message, fp.telemetry_topic(device, kind))

    def heartbeat(self, device: str, *, boot: int = 1, disk_percent: float = 1) -> None:
        self.reading(
            device,
            fp.TelemetryKind.HEARTBEAT,
            fp.HeartbeatData(
                uptime_s=1,
                agent_version="0.1.0",
                cpu_percent=1,
                memory_percent=1,
                disk_percent=disk_percent,
            ),
            boot=boot,
        )

    def power(
        self, device: str, *, mains: bool, boot: int = 1, held: timedelta = timedelta(0)
    ) -> None:
        self.reading(
            device,
            fp.TelemetryKind.POWER,
            fp.PowerData(source="ups", mains_present=mains, on_battery=not mains),
            boot=boot,
            held=held,
        )


@pytest.fixture
def store(seeded: str, clock: Clock) -> Iterator[Store]:
    s = Store(seeded, clock)
    yield s
    s.conn.close()


@pytest.fixture
def engine_conn(seeded: str) -> Iterator[Conn]:
    """Autocommit, as the engine's own: each pass is one real transaction, and
    the test's reads never hold one open around it."""
    with psycopg.connect(seeded, autocommit=True) as conn:
        yield conn


def incidents(conn: Conn, where: str = "TRUE") -> list[tuple[Any, ...]]:
    return conn.execute(
        f"SELECT id, rule, state, board_id, site_id, parent_id, flapping, severity"
        f" FROM incidents WHERE {where} ORDER BY id"
    ).fetchall()


MakeEngine = Callable[..., Any]


# -- notices: the engine's incidents through the real outbox, worker and SMTP ---------


@pytest.fixture
def smtp() -> Iterator[SmtpSink]:
    """A real SMTP server (aiosmtpd) that keeps what it receives."""
    with SmtpSink() as sink:
        yield sink


@pytest.fixture
def admin(seeded: str) -> Iterator[Conn]:
    """The seeded database, autocommit: contacts, routes, windows, checks."""
    with psycopg.connect(seeded, autocommit=True) as conn:
        yield conn


@contextmanager
def notice_worker(
    url: str, smtp: SmtpSink, clock: Clock, *, worker_id: str, **settings: Any
) -> Iterator[NotificationWorker]:
    """A notification worker on ``clock`` delivering to ``smtp`` (``settings``:
    overrides of the notification settings), closed when the block ends."""
    worker = NotificationWorker(
        url, notification_settings(smtp.port, **settings), clock=clock, worker_id=worker_id
    )
    try:
        yield worker
    finally:
        worker.close()


def mail_to(smtp: SmtpSink, address: str) -> EmailMessage:
    """The one mail ``smtp`` received for ``address``."""
    [mail] = [m for m in smtp.messages if address in str(m["To"])]
    return mail
