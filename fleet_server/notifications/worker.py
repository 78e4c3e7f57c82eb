"""The delivery worker: claims due outbox rows, sends them, records every attempt.

A row is ``sent`` only after its channel accepted it (``confirming`` while a
channel that confirms, SMS, has not reported delivery). A failed attempt is
retried with jittered exponential backoff until the row's maximum age, then
marked ``failed``, or handed to the next channel of the contact's chain
(``storage_chain``): nothing is dropped without a trace. A worker that dies
mid-send leaves its rows ``sending``; after the lease another worker takes
them back (at-least-once delivery, stable Message-ID / delivery id).
"""

from __future__ import annotations

import logging
import os
import random
import socket
import threading
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import psycopg

from fleet_server.backoff import Backoff
from fleet_server.db.connect import connect
from fleet_server.errors import DatabaseUnavailable
from fleet_server.metrics import NotificationMetrics, new_registry
from fleet_server.notifications import storage_chain, storage_worker
from fleet_server.notifications.channels import base
from fleet_server.notifications.channels.base import ChannelAdapter, ContactCard, Delivery
from fleet_server.notifications.channels.registry import build_channels, secrets_of
from fleet_server.notifications.lease import LeaseKeeper
from fleet_server.notifications.models import (
    Channel,
    NotificationSettings,
    OutboxRow,
    OutgoingMessage,
    Transport,
)
from fleet_server.notifications.routing import message_id_for
from fleet_server.notifications.templates import link_for, render_group

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(slots=True)
class WorkerCounters:
    """Totals since the worker was built (for logs now, Prometheus later)."""

    runs: int = 0
    rows_claimed: int = 0
    messages_sent: int = 0
    rows_sent: int = 0
    attempts_failed: int = 0
    rows_retried: int = 0
    rows_failed: int = 0
    rows_cancelled: int = 0
    claims_recovered: int = 0
    claims_lost: int = 0
    rows_held_back: int = 0  # an earlier notice of their incident was not sent first
    rows_fell_back: int = 0  # handed to the next channel of their chain
    rows_awaiting: int = 0  # accepted, waiting for the provider's confirmation
    database_errors: int = 0


@dataclass(frozen=True, slots=True)
class RunResult:
    rows_claimed: int = 0
    messages_sent: int = 0
    messages_failed: int = 0


class NotificationWorker:
    def __init__(
        self,
        database_url: str,
        settings: NotificationSettings,
        *,
        transports: Mapping[Channel, Transport] | None = None,
        channels: Mapping[Channel, ChannelAdapter] | None = None,
        clock: Clock = utc_now,
        rng: random.Random | None = None,
        worker_id: str | None = None,
        metrics: NotificationMetrics | None = None,
    ) -> None:
        self.database_url = database_url
        self.settings = settings
        # E-mail and webhook transports (or the test's) behind the channel interface.
        self.channels: dict[Channel, ChannelAdapter] = {
            **build_channels(settings, transports),
            **(channels or {}),
        }
        self._secrets = secrets_of(settings)
        self.clock = clock
        self.worker_id = worker_id or f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"
        self.counters = WorkerCounters()
        self.metrics = metrics or NotificationMetrics(new_registry(process=False))
        self._rng = rng or random.Random()  # noqa: S311 - jitter, not cryptography
        self._conn: storage_worker.Conn | None = None

    # --- loop -------------------------------------------------------------------

    def run_forever(self, stop: threading.Event) -> None:
        """Run until ``stop`` is set; sleeps ``poll_interval_s`` when idle and
        backs off while the database is unreachable."""
        backoff = Backoff(base=0.5, cap=30.0, rng=self._rng)
        try:
            while not stop.is_set():
                try:
                    result = self.run_once()
                except DatabaseUnavailable as exc:
                    log.warning("notification worker: %s", exc)
                    if backoff.wait(stop):
                        break
                    continue
                except Exception:  # a bug must not end delivery for good
                    log.exception("notification worker run failed")
                    if backoff.wait(stop):
                        break
                    continue
                backoff.reset()
                if result.rows_claimed < self.settings.batch_size:
                    stop.wait(self.settings.poll_interval_s)
        finally:
            self.close()

    def run_once(self) -> RunResult:
        """Take back expired claims, claim due rows and send them."""
        self.counters.runs += 1
        try:
            return self._run_once()
        except psycopg.OperationalError as exc:
            self.counters.database_errors += 1
            self.close()
            raise DatabaseUnavailable(f"notification outbox: {exc}".strip()) from exc

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def _db(self) -> storage_worker.Conn:
        if self._conn is None or self._conn.closed:
            self._conn = connect(
                self.database_url, autocommit=True, application_name="fleet-notifications"
            )
        return self._conn

    def _run_once(self) -> RunResult:
        conn = self._db()
        now = self.clock()
        self.counters.claims_recovered += storage_worker.recover_expired_claims(
            conn,
            now=now,
            lease=timedelta(seconds=self.settings.sending_lease_s),
            worker=self.worker_id,
        )
        self.counters.rows_fell_back += storage_chain.expire_confirmations(
            conn, now=now, worker=self.worker_id
        )
        messages = storage_worker.claim_due(
            conn,
            now=now,
            limit=self.settings.batch_size,
            window=timedelta(seconds=self.settings.group_window_s),
            worker=self.worker_id,
        )
        run = _Run(held={row.id for rows in messages for row in rows})
        claimed = len(run.held)
        self.counters.rows_claimed += claimed
        sent = failed = 0
        for rows in messages:
            ok = self._deliver(conn, rows, run)
            if ok is True:
                sent += 1
            elif ok is False:
                failed += 1
        return RunResult(rows_claimed=claimed, messages_sent=sent, messages_failed=failed)

    # --- one message ------------------------------------------------------------

    def _deliver(
        self, conn: storage_worker.Conn, rows: Sequence[OutboxRow], run: _Run
    ) -> bool | None:
        """Send one planned message; True sent, False failed, None not attempted."""
        first = rows[0]
        if not first.contact_active:
            ids = [row.id for row in rows]
            storage_worker.record_cancelled(
                conn, ids, reason="contact deactivated", worker=self.worker_id
            )
            run.done(ids)
            self.counters.rows_cancelled += len(rows)
            log.warning("outbox %s cancelled: contact %s deactivated", ids, first.contact_id)
            return None
        rows = self._renew_and_hold_back(conn, rows, run)
        if not rows:
            return None
        ids = [row.id for row in rows]
        message_id = message_id_for(rows, self.settings.smtp.message_id_domain)
        result = self._send(conn, rows, run, message_id)
        if not result.ok:
            self._failed(conn, rows, run, message_id, result)
            return False
        confirm = result.outcome == "accepted" and self.channels[first.channel].confirms
        timeout = timedelta(seconds=self.settings.confirm_timeout_s)
        storage_chain.record_success(
            conn, ids, at=self.clock(), message_id=message_id, delivery=result,
            worker=self.worker_id, channel=first.channel,
            confirm_by=self.clock() + timeout if confirm else None,
        )  # fmt: skip
        self.counters.rows_awaiting += len(ids) if confirm else 0
        run.done(ids)
        self.counters.messages_sent += 1
        self.metrics.sent.labels(first.channel).inc()
        self.counters.rows_sent += len(rows)
        log.info("sent %s to contact %s: outbox %s", first.channel, first.contact_id, ids)
        return True

    def _send(
        self, conn: storage_worker.Conn, rows: Sequence[OutboxRow], run: _Run, message_id: str
    ) -> Delivery:
        """Hand the message to its channel, renewing the run's claims meanwhile."""
        first = rows[0]
        adapter = self.channels.get(first.channel)
        if adapter is None:
            return base.retry(f"the {first.channel} channel is not configured on this server")
        try:
            message = self._message(rows, message_id)
            held = frozenset(run.held)  # every row of this run not yet recorded
            with LeaseKeeper(lambda: self._renew(conn, held), self.settings.renew_interval_s):
                return adapter.send(message, ContactCard.of(first))
        except Exception as exc:  # a channel bug: retry, never strand the rows
            log.exception("channel %s raised unexpectedly", first.channel)
            return base.retry(base.scrub(f"{type(exc).__name__}: {exc}", *self._secrets))

    def _renew_and_hold_back(
        self, conn: storage_worker.Conn, rows: Sequence[OutboxRow], run: _Run
    ) -> list[OutboxRow]:
        """Renew every claim of the run (rows waiting for their turn must not
        expire) and keep the rows of ``rows`` that may go now: still ours, and
        no earlier notice of their incident left unsent in this run."""
        ours = storage_worker.renew_claims(conn, run.held, now=self.clock(), worker=self.worker_id)
        lost = run.held - ours
        if lost:
            self.counters.claims_lost += len(lost)
            log.warning("outbox %s: claim taken back before sending; skipped", sorted(lost))
            run.held -= lost
            run.unsent |= lost
        keep: list[OutboxRow] = []
        wait: list[int] = []
        for row in rows:  # by id: a row held back holds back the later ones
            if row.id not in ours:
                continue
            if run.unsent.intersection(row.earlier):
                wait.append(row.id)
                run.unsent.add(row.id)
            else:
                keep.append(row)
        if wait:
            storage_worker.release_claims(conn, wait, worker=self.worker_id)
            run.held.difference_update(wait)
            self.counters.rows_held_back += len(wait)
            log.info("outbox %s held back: an earlier notice of the incident is unsent", wait)
        return keep

    def _renew(self, conn: storage_worker.Conn, ids: frozenset[int]) -> None:
        ours = storage_worker.renew_claims(conn, ids, now=self.clock(), worker=self.worker_id)
        if len(ours) != len(ids):
            log.warning("outbox %s: claim taken back while sending", sorted(ids - ours))

    def _message(self, rows: Sequence[OutboxRow], message_id: str) -> OutgoingMessage:
        first = rows[0]
        address = ContactCard.of(first).address(first.channel) or ""
        base_url = self.settings.console_base_url
        rendered = render_group(rows, base_url)
        sent_at = self.clock()
        payload = {
            "delivery_id": message_id,
            "sent_at": sent_at.isoformat(),
            "contact": {"id": first.contact_id, "name": first.contact_name},
            "language": first.language,
            "subject": rendered.subject,
            "text": rendered.body_text,
            "notices": [
                {"outbox_id": row.id, **row.payload, "link": link_for(row.payload, base_url)}
                for row in rows
            ],
        }
        return OutgoingMessage(
            message_id=message_id,
            outbox_ids=tuple(row.id for row in rows),
            channel=first.channel,
            language=first.language,
            contact_name=first.contact_name,
            address=address,
            subject=rendered.subject,
            body_text=rendered.body_text,
            payload=payload,
            sent_at=sent_at,
            webhook_secret=first.webhook_secret,
        )

    def _failed(
        self,
        conn: storage_worker.Conn,
        rows: Sequence[OutboxRow],
        run: _Run,
        message_id: str,
        result: Delivery,
    ) -> None:
        now = self.clock()
        error = result.reason
        attempts = max(row.attempts for row in rows)
        chained = [bool(row.fallback) for row in rows]
        if (result.permanent and any(chained)) or (
            all(chained) and attempts >= self.settings.fallback_after_attempts
        ):  # the next channel of the chain, now; rows without one fail
            moved = storage_chain.record_fallback(
                conn, [row.id for row in rows], at=now, error=error, message_id=message_id,
                worker=self.worker_id, channel=rows[0].channel,
            )  # fmt: skip
            run.done(row.id for row in rows)
            run.unsent.update(moved)
            self.counters.attempts_failed += 1
            self.counters.rows_fell_back += len(moved)
            self.metrics.failed.labels(rows[0].channel).inc()
            if moved:
                log.warning("outbox %s: %s; on to the next channel of the chain", moved, error)
            failed = sorted({row.id for row in rows} - set(moved))
            self.counters.rows_failed += len(failed)
            if failed:
                log.error("outbox %s failed for good: %s", failed, error)
            return
        delay = max(self._retry_delay(attempts), result.retry_after_s or 0.0)
        retry_at = self._next_attempts(rows, now, delay, permanent=result.permanent)
        storage_worker.record_failure(
            conn, retry_at, at=now, error=error[:1000], message_id=message_id,
            worker=self.worker_id, channel=rows[0].channel,
        )  # fmt: skip
        gave_up = [row_id for row_id, at in retry_at.items() if at is None]
        run.done(retry_at)
        run.unsent.update(row_id for row_id, at in retry_at.items() if at is not None)
        self.counters.attempts_failed += 1
        self.metrics.failed.labels(rows[0].channel).inc()
        if gave_up:
            self.metrics.given_up.labels(rows[0].channel).inc(len(gave_up))
        self.counters.rows_failed += len(gave_up)
        self.counters.rows_retried += len(rows) - len(gave_up)
        if gave_up:
            log.error("outbox %s failed for good: %s", gave_up, error)
        else:
            log.warning(
                "outbox %s attempt failed, retrying in %.0f s: %s", list(retry_at), delay, error
            )

    def _retry_delay(self, attempts: int) -> float:
        backoff = Backoff(self.settings.retry_base_s, self.settings.retry_cap_s, self._rng)
        backoff.attempt = max(0, attempts - 1)
        return max(1.0, backoff.next_delay())

    def _next_attempts(
        self, rows: Sequence[OutboxRow], now: datetime, delay: float, *, permanent: bool
    ) -> dict[int, datetime | None]:
        """When to try each row again; None for a permanent error or a row past
        its maximum age. The rows still alive are retried together, at the
        earliest of their deadlines if that comes before the backoff (the last
        retry is pulled in, not skipped): the retry is then the same message,
        with the same Message-ID."""
        max_age = timedelta(seconds=self.settings.max_age_s)
        deadlines = {row.id: row.available_at + max_age for row in rows}
        alive = [at for at in deadlines.values() if now < at]
        if permanent or not alive:
            return dict.fromkeys(deadlines)
        retry = min(now + timedelta(seconds=delay), *alive)
        return {row_id: retry if now < at else None for row_id, at in deadlines.items()}


@dataclass(slots=True)
class _Run:
    """What one run holds: rows claimed and not yet recorded, and rows left
    unsent (to retry, or held back) that later notices of their incident must
    wait for."""

    held: set[int]
    unsent: set[int] = field(default_factory=set)

    def done(self, ids: Iterable[int]) -> None:
        self.held.difference_update(ids)
