"""The background half of an update: download, verify, unpack, switch.

Runs on a thread of its own; it never touches the spool (the main thread
owns it): what it has to report goes into ``events`` and the main thread
(``Updater.tick``) sends it. After the switch it asks the agent to exit so
that the supervisor (systemd ``Restart=always``) starts the new version.
"""

from __future__ import annotations

import collections
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import fleet_protocol as fp
from edge_agent.update import layout
from edge_agent.update.download import DownloadFailed, download, sha256_of
from edge_agent.update.settings import UpdateConfig
from edge_agent.update.state import StateFile, UpdateRecord
from fleet_protocol.releases import ReleaseRefused, parse_manifest, verify

log = logging.getLogger(__name__)
#: a ``downloading`` event at most this often (plus the first and the last)
_PROGRESS_EVERY = 0.25


@dataclass(frozen=True)
class Report:
    """One event to send; ``final`` marks the record reported once sent;
    ``exit`` asks the agent to stop after sending it."""

    state: str
    details: dict[str, Any] = field(default_factory=dict)
    final: bool = False
    exit: bool = False


def details(record: UpdateRecord, **extra: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"version": record.version}
    if record.rollout_id is not None:
        out["rollout_id"] = record.rollout_id
    if record.previous:
        out["previous"] = record.previous
    out.update({k: v for k, v in extra.items() if v is not None})
    return out


class Worker:
    def __init__(
        self,
        config: UpdateConfig,
        store: StateFile,
        record: UpdateRecord,
        stopping: threading.Event,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.config = config
        self.store = store
        self.record = record
        self.stopping = stopping
        self.clock = clock
        self.events: collections.deque[Report] = collections.deque()
        self.thread = threading.Thread(target=self.run, name="update", daemon=True)

    def start(self) -> None:
        self.thread.start()

    def run(self) -> None:
        try:
            self._run()
        except (ReleaseRefused, OSError) as exc:
            reason = exc.reason if isinstance(exc, ReleaseRefused) else f"{exc}"
            self._fail(reason[:300])
        except DownloadFailed:
            log.info("update to %s interrupted; resumed at the next start", self.record.version)
        except Exception as exc:  # an update never takes the agent down
            log.exception("update to %s failed", self.record.version)
            self._fail(f"{type(exc).__name__}: {exc}"[:300])

    def _fail(self, reason: str) -> None:
        reason = fp.printable(reason, free=True)  # an error text from outside
        log.error("update to %s failed: %s", self.record.version, reason)
        self.record = replace(self.record, state="failed", reason=reason)
        try:
            self.store.save(self.record)
        except OSError as exc:  # the disk that failed the update: still say so
            log.error("update state not written: %s", exc)
        self.events.append(Report("failed", details(self.record, reason=reason), final=True))

    def _run(self) -> None:
        config, record = self.config, self.record
        manifest = parse_manifest(record.manifest)
        verify(manifest, config.trusted_keys())
        part = config.downloads / f"{manifest.artifact}.part"
        artifact = part.with_name(manifest.artifact)
        layout.clear_downloads(config, keep={part.name, artifact.name})
        if record.state == "downloading" or not artifact.exists():
            self.events.append(Report("downloading", details(record, bytes=0)))
            reported = [0.0]

            def progress(have: int) -> None:
                if have / manifest.size - reported[0] >= _PROGRESS_EVERY:
                    reported[0] = have / manifest.size
                    self.events.append(Report("downloading", details(record, bytes=have)))

            artifact = download(
                record.url,
                part,
                manifest,
                attempts=config.download_attempts,
                wait=self.stopping.wait,
                retry_base_s=config.retry_base_s,
                deadline_s=config.download_deadline_s,
                progress=progress,
            )
            self.record = record = replace(record, state="downloaded")
            self.store.save(record)
            self.events.append(Report("downloaded", details(record, bytes=manifest.size)))
        if self.stopping.is_set():  # the agent is stopping: switch at the next start
            raise DownloadFailed("agent stopping")
        self._switch(artifact)

    def _switch(self, artifact: Path) -> None:
        config, record = self.config, self.record
        manifest = parse_manifest(record.manifest)
        verify(manifest, config.trusted_keys())  # again: the record was on disk
        if sha256_of(artifact) != manifest.sha256:
            artifact.unlink()
            raise ReleaseRefused("sha256 mismatch of the downloaded artifact")
        previous = layout.active_version(config)
        if previous is None:
            raise ReleaseRefused(f"{config.current} is not a link: not the release layout")
        layout.extract(artifact, config, record.version)
        self.record = record = replace(
            record,
            state="trying",
            previous=previous,
            deadline=int(self.clock()) + record.health_deadline_s,
            boot_attempts=0,
            max_boot_attempts=config.max_boot_attempts,
            root=str(config.root),
            reason=None,
        )
        self.store.save(record)  # before the switch: the guard must know what to undo
        # the guard that judges the new version is the running (proven) one's
        layout.install_guard(config, previous)
        layout.point(config.previous, previous)
        layout.point(config.current, record.version)
        artifact.unlink(missing_ok=True)
        log.info("switched to %s (previous %s): restarting", record.version, previous)
        self.events.append(Report("installed", details(record), exit=True))
