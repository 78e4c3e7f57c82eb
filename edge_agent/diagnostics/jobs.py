"""``collect_logs`` off the agent's loop: reading the journal and asking the
board's tools can take seconds, and the loop must keep its heartbeats.

The loop copies what it knows (``BoardState``) and hands it to a worker
thread with the command; the thread reads, redacts and packs the bundles,
then leaves them for the loop (``finished``) and sets ``wake``. The loop
spools the bundles and answers the command: only the loop's thread touches
the spool. A command delivered twice while its bundles are being made is
taken once.
"""

from __future__ import annotations

import base64
import json
import logging
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from pydantic import ValidationError

import fleet_protocol as fp
from edge_agent.diagnostics.journal import Runner, run_tool

if TYPE_CHECKING:
    from edge_agent.diagnostics.bundle import Packed
    from edge_agent.diagnostics.report import BoardState

log = logging.getLogger(__name__)


@dataclass
class Collected:
    """What one ``collect_logs`` made: the bundles to spool, and the problems."""

    request_id: str
    bundles: list[fp.LogBundleData] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def _bundle(
    request_id: str,
    kind: fp.LogBundleKind,
    packed: Packed,
    now: datetime,
    since: datetime | None,
) -> fp.LogBundleData:
    return fp.LogBundleData(
        request_id=request_id,
        kind=kind,
        captured_at=now,
        since=since,
        lines=packed.lines,
        truncated=packed.truncated,
        original_bytes=packed.original_bytes,
        body=base64.b64encode(packed.body),  # base64 in, the bytes kept
    )


def collect(
    request_id: str,
    args: fp.CollectLogsArgs,
    state: BoardState,
    *,
    now: datetime,
    run: Runner = run_tool,
) -> Collected:
    """Make the bundles ``args`` asks for (never raises: a part that fails
    is named in ``errors`` and the others are still made)."""
    # only on a collect_logs command: a board's resident memory (issue 20)
    from edge_agent.diagnostics.bundle import pack_lines, pack_text  # noqa: PLC0415
    from edge_agent.diagnostics.journal import read_journal  # noqa: PLC0415
    from edge_agent.diagnostics.redaction import Redactor  # noqa: PLC0415
    from edge_agent.diagnostics.report import build_report  # noqa: PLC0415

    done = Collected(request_id)
    redact = Redactor.for_config(state.config)
    for kind in args.include:
        try:
            if kind == "journal":
                extract = read_journal(state.config, args.minutes, args.lines, redact, run=run)
                done.errors += extract.errors
                since = now - timedelta(minutes=args.minutes)
                packed = pack_lines(extract.lines)
                done.bundles.append(_bundle(request_id, kind, packed, now, since))
            else:
                report = build_report(state, redact, run=run)
                text = json.dumps(report, indent=1, ensure_ascii=False, default=str) + "\n"
                done.bundles.append(_bundle(request_id, kind, pack_text(text), now, None))
        except (ValidationError, ValueError, OSError) as exc:
            # e.g. a credential the redactor missed, which the protocol refuses
            log.exception("%s bundle of %s not made", kind, request_id)
            done.errors.append(f"{kind}: {redact(str(exc).splitlines()[0])[:200]}")
    return done


class DiagnosticsJobs:
    """Runs ``collect`` on worker threads; the loop takes what finished."""

    def __init__(
        self,
        wake: threading.Event,
        *,
        clock: Callable[[], datetime] | None = None,
        run: Runner = run_tool,
    ) -> None:
        self._wake = wake
        self._clock = clock or (lambda: datetime.now(UTC))
        self._run = run
        self._lock = threading.Lock()
        self._running: dict[str, threading.Thread] = {}
        self._finished: deque[Collected] = deque()

    def submit(self, request_id: str, args: fp.CollectLogsArgs, state: BoardState) -> bool:
        """Start making the bundles; False when this request is already under way."""
        with self._lock:
            if request_id in self._running:
                return False
            thread = threading.Thread(
                target=self._work,
                args=(request_id, args, state),
                name=f"diagnostics-{request_id[:24]}",
                daemon=True,
            )
            self._running[request_id] = thread
        thread.start()
        return True

    def _work(self, request_id: str, args: fp.CollectLogsArgs, state: BoardState) -> None:
        try:
            done = collect(request_id, args, state, now=self._clock(), run=self._run)
        except Exception as exc:  # a bug must still get the command an answer
            log.exception("collect_logs %s failed", request_id)
            done = Collected(request_id, errors=[f"{type(exc).__name__}"])
        with self._lock:
            self._finished.append(done)
            del self._running[request_id]
        self._wake.set()

    def finished(self) -> list[Collected]:
        """What finished since the last call (the loop's thread)."""
        with self._lock:
            done = list(self._finished)
            self._finished.clear()
        return done

    @property
    def busy(self) -> bool:
        with self._lock:
            return bool(self._running)

    def close(self, timeout_s: float = 5.0) -> None:
        """Wait a little for running work (the threads are daemons: a hung
        tool never keeps the agent from stopping)."""
        with self._lock:
            threads = list(self._running.values())
        for thread in threads:
            thread.join(timeout_s)
