"""Rollout fixtures: a small fleet (org-a: site-1 with b1..b3, site-2 with
b4, b5; org-b: site-3 with b6), a published release, the engine's rollout
pass on a clock the test moves, and the boards' answers stored as ingest
stores them."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import psycopg
import pytest

import fleet_protocol as fp
from fleet_server.access.principal import Actor, Principal
from fleet_server.access.roles import CAPABILITIES
from fleet_server.releases import service as releases
from fleet_server.rollouts import service
from fleet_server.rollouts.job import RolloutJob, RolloutSettings
from fleet_server.rollouts.schemas import RolloutDetail, RolloutIn
from tests.server.engine.conftest import Store
from tests.server.releases.support import SigningKey, write_release
from tests.support import seed
from tests.support.clock import Clock
from tests.support.principals import province_admin

Conn = psycopg.Connection[Any]
BASE_URL = "http://fleet.test/api/v1/releases/files"
#: 10:00 local time (03:00 UTC) on a weekday: outside the windows the tests set
START = datetime(2026, 12, 7, 3, 0, tzinfo=UTC)
ADMIN = province_admin()


def principal(role: str) -> Principal:
    return Principal(
        user_id=2,
        username=f"user.{role}",
        full_name=role,
        role=role,
        organisation_id=None,
        team=None,
        language="vi",
        capabilities=CAPABILITIES[role],
    )


class Fleet:
    def __init__(self, url: str, clock: Clock, tmp: Path) -> None:
        self.url = url
        self.clock = clock
        self.tmp = tmp
        self.conn: Conn = psycopg.connect(url, autocommit=True)
        self.key = SigningKey.new()
        self.store = Store(url, clock)
        self.job = RolloutJob(
            RolloutSettings(base_url=BASE_URL, every_s=0, window_margin_s=0, clock_step_s=None)
        )

    def publish(self, version: str) -> None:
        manifest, artifact = write_release(self.key, self.tmp / "signed", version)
        with self.conn.transaction(), artifact.open("rb") as data:
            releases.publish(
                self.conn,
                "test",
                manifest_data=releases.read_manifest(manifest.read_bytes()),
                artifact=data,
                public_keys=self.key.trusted,
                root=self.tmp / "releases",
                notes=None,
                now=self.clock(),
            )

    def create(self, **fields: Any) -> RolloutDetail:
        body = RolloutIn.model_validate(
            {"version": "2.0.0", "target": {"organisation_id": self.org_a}, "pause_s": 0} | fields
        )
        with self.conn.transaction():
            created = service.create(self.conn, ADMIN, Actor("quan.tri"), body, now=self.clock())
        assert isinstance(created, RolloutDetail)
        return created

    def site_id(self, code: str) -> int:
        return seed.site_id(self.conn, code)

    @property
    def org_a(self) -> int:
        return seed.organisation_id(self.conn, "org-a")

    def run(self, job: RolloutJob | None = None) -> int:
        with self.conn.transaction():
            return (job or self.job).run(self.conn, self.clock())

    def states(self, rollout_id: int) -> dict[str, str]:
        return {b.board_id: b.state for b in service.get(self.conn, ADMIN, rollout_id).boards}

    def rollout(self, rollout_id: int) -> RolloutDetail:
        return service.get(self.conn, ADMIN, rollout_id)

    def request_id(self, rollout_id: int, board_id: str) -> str:
        [board] = [b for b in self.rollout(rollout_id).boards if b.board_id == board_id]
        assert board.request_id is not None
        return board.request_id

    # -- what a board sends -------------------------------------------------------
    def event(self, board_id: str, rollout_id: int, state: str, **details: Any) -> None:
        now = self.store.board_now()
        severity: Literal["info", "error"] = (
            "error" if state in ("rolled_back", "failed") else "info"
        )
        fields: dict[str, Any] = {"version": "2.0.0", "state": state, "rollout_id": rollout_id}
        self.store.send(
            fp.EventMessage(
                schema_version=1,
                device_id=board_id,
                boot=1,
                seq=self.store._seq(board_id, 1),
                measured_at=now,
                sent_at=now,
                data=fp.EventData(
                    type="update",
                    severity=severity,
                    message=f"update {state}",
                    details=fields | details,
                ),
            ),
            fp.event_topic(board_id, "update"),
        )

    def answer(
        self,
        board_id: str,
        request_id: str,
        status: Literal["ok", "error", "rejected", "expired"],
        **data: Any,
    ) -> None:
        now = self.store.board_now()
        self.store.send(
            fp.CommandResultMessage(
                schema_version=1,
                device_id=board_id,
                boot=1,
                seq=self.store._seq(board_id, 1),
                measured_at=now,
                sent_at=now,
                data=fp.CommandResultData(
                    request_id=request_id, command="update", status=status, **data
                ),
            ),
            fp.command_result_topic(board_id),
        )

    def healthy(self, rollout_id: int, *boards: str) -> None:
        for board_id in boards:
            self.answer(board_id, self.request_id(rollout_id, board_id), "ok",
                        output={"state": "accepted"})  # fmt: skip
            for state in ("downloading", "downloaded", "installed", "healthy"):
                self.event(board_id, rollout_id, state, previous="1.0.0")

    def close(self) -> None:
        self.store.conn.close()
        self.conn.close()


@pytest.fixture
def clock() -> Clock:
    return Clock(START)


@pytest.fixture
def fleet(db_url: str, clock: Clock, tmp_path: Path) -> Iterator[Fleet]:
    with psycopg.connect(db_url, autocommit=True) as conn:
        seed.organisation(conn, "org-a")
        seed.organisation(conn, "org-b")
        seed.site(conn, "site-1", "org-a")
        seed.site(conn, "site-2", "org-a")
        seed.site(conn, "site-3", "org-b")
        for board_id, site in (
            ("b1", "site-1"), ("b2", "site-1"), ("b3", "site-1"),
            ("b4", "site-2"), ("b5", "site-2"), ("b6", "site-3"),
        ):  # fmt: skip
            seed.board(conn, board_id, site)
    f = Fleet(db_url, clock, tmp_path)
    f.publish("2.0.0")
    yield f
    f.close()
