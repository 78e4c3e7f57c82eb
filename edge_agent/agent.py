"""The agent's main loop: collect on schedule, spool, publish, answer commands.

One main thread owns the spool and the collectors; the MQTT thread only
hands over acknowledgements, incoming commands and delivery receipts (then
sets ``wake``). ``Delivery`` decides what is sent when and when the spool
may forget it. A spool that cannot be written (disk full or failing) never
stops the agent: readings go out directly and the heartbeat says
``spool_degraded``.
"""

from __future__ import annotations

import collections
import contextlib
import ctypes
import gc
import json
import logging
import subprocess
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel

import fleet_protocol as fp
from edge_agent import __version__, plays
from edge_agent.collectors.base import Collector
from edge_agent.commands import LATER, CommandProcessor, Outcome, merge_config
from edge_agent.config import AgentConfig
from edge_agent.delivery import Delivery
from edge_agent.diagnostics.jobs import DiagnosticsJobs
from edge_agent.errors import CollectorError, NotPresent, SpoolError
from edge_agent.kill_switch import (
    HaltStore,
    KillSwitch,
    PlayerControl,
    SimulatedPlayerControl,
    SystemPlayerControl,
)
from edge_agent.proof import Proof
from edge_agent.sdnotify import notify
from edge_agent.session import Session
from edge_agent.simulation import SimulatedBoard
from edge_agent.spool import PRIORITY_KEEP, PRIORITY_TELEMETRY, Spool
from edge_agent.update.updater import HealthProbe, Updater
from edge_agent.usage import DataMeter

log = logging.getLogger(__name__)

#: A picture (``snapshot``) is spooled like telemetry: dropped first when the
#: spool is full, never kept over state, events and command results.
PRIORITY_SNAPSHOT = PRIORITY_TELEMETRY
_EXPIRE_EVERY_S = 600.0
_MAX_SLEEP_S = 1.0


class Agent:
    def __init__(
        self,
        config: AgentConfig,
        *,
        sim: SimulatedBoard | None = None,
        collectors: dict[fp.TelemetryKind, Collector] | None = None,
        clock: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
        link_up: Callable[[], bool] | None = None,
        systemctl: Callable[..., None] | None = None,
        player: PlayerControl | None = None,
        resume_boot: bool = False,
    ) -> None:
        """``resume_boot`` (simulation only): continue the boot the spool
        recorded instead of starting a new one — a simulated board whose
        process restarted while the board itself did not (the demo
        restarting). Its seqs continue above the spool's high-water mark."""
        self.config = config
        #: The configuration as loaded on the board. What commands act on
        #: (the player's unit) is read from here, never from what the server
        #: changed; fp.REMOTE_CONFIG_KEYS keeps those settings apart as well.
        self.board_config = config
        self._systemctl = systemctl or _systemctl
        self.sim = sim
        self._clock = clock
        self._monotonic = monotonic
        self.spool = Spool(
            config.spool_path,
            max_bytes=config.spool.max_bytes,
            max_age_s=config.spool.max_age_days * 86_400,
            reserve_bytes=config.spool.reserve_bytes,
            clock=clock,
        )
        resumed = self.spool.boot if resume_boot and sim is not None else 0
        self.boot = resumed or self.spool.start_boot()
        #: screen and camera proof (edge_agent.proof): kept across configuration changes
        self.proof = (
            Proof(lambda: self.config, clock=clock, monotonic=monotonic) if sim is None else None
        )
        self.collectors = collectors if collectors is not None else _build(config, sim, self.proof)
        self.wake = threading.Event()
        self._inbox: collections.deque[tuple[str, bytes]] = collections.deque(maxlen=1000)
        #: the bytes this agent moves on the link, and the adaptive mode (edge_agent.usage)
        self.usage = DataMeter(
            config.usage_state_path,
            lambda: self.config.data_budget,
            clock=clock,
            monotonic=monotonic,
        )
        self.session = Session(
            config,
            boot=self.boot,
            next_seq=self.spool.next_seq,
            on_message=self._receive,
            wake=self.wake,
            heartbeat_interval=lambda: self.config.intervals.heartbeat,
            link_up=link_up,
            meter=self.usage,
        )
        self.delivery = Delivery(
            self.spool, self.session, lambda: self.config.spool, clock=clock, monotonic=monotonic
        )
        self._reported_degraded: str | None = None
        self.crashed = False
        self.commands = CommandProcessor(self)
        #: collect_logs off the loop (edge_agent.diagnostics), and what it reports
        self.diagnostics = DiagnosticsJobs(self.wake)
        self._readings: dict[str, dict[str, Any]] = {}
        if player is None:
            player = (
                SimulatedPlayerControl(sim)
                if sim is not None
                else SystemPlayerControl(config.display, self._systemctl)
            )
        self.kill_switch = KillSwitch(
            HaltStore(config.halt_path), player, lambda: datetime.fromtimestamp(clock(), UTC)
        )
        self._halt_error: str | None = None
        #: the order was carried out a moment ago: the next reading need not repeat it
        self._halt_fresh = False
        self._started = monotonic()
        start = monotonic()
        self._due: dict[fp.TelemetryKind, float] = dict.fromkeys(self.collectors, start)
        self._failing: dict[fp.TelemetryKind, str] = {}
        self._absent: set[fp.TelemetryKind] = set()
        self.plays = plays.PlayTracker()
        self._next_expire = start + _EXPIRE_EVERY_S
        self.config_version = -1
        #: signed updates of the agent itself (edge_agent.update)
        self.updater = Updater(
            config.update,
            __version__,
            self.emit_event,
            HealthProbe(
                ready=self.session.ready.is_set,
                collect_heartbeat=lambda: bool(self.collect_now(["heartbeat"])),
                # the broker's PUBACK is enough: health must not wait for the server
                published=lambda: self.delivery.published + self.delivery.awaiting,
            ),
            clock=clock,
        )

    # -- the loop ---------------------------------------------------------------------
    def run(self, stop: threading.Event) -> None:
        log.info(
            "edge agent %s starting as %s (boot %d)", __version__, self.config.device_id, self.boot
        )
        # First of all, even with no network: a board halted by order stays dark.
        self.restore_halt()
        self.usage.activate()
        self.session.start()
        self.emit_event(
            "agent_started",
            "info",
            f"agent {__version__} started",
            {"boot": self.boot, "simulated": self.sim is not None},
        )
        self.updater.start()  # resume a download, or judge a version on trial
        notify("READY=1")
        _release_memory()
        try:
            # After switching versions the agent exits: the supervisor starts the new one.
            while not stop.is_set() and not self.updater.exit_requested.is_set():
                self.step()
                notify("WATCHDOG=1")  # only while the loop makes progress
                self.wake.wait(self._sleep_time())
                self.wake.clear()
        finally:
            notify("STOPPING=1")
            self.close()

    def step(self) -> None:
        """One turn of the loop (tests call it directly)."""
        self.delivery.take_acks()
        self._take_inbox()
        self._send_log_bundles()
        self.updater.tick()
        self.delivery.tick()
        self._report_spool_health()
        if not (self.sim is not None and self.sim.heartbeat_frozen):
            self._collect_due()
            self._send_pictures()
        self.delivery.dispatch()
        self.usage.tick()
        now = self._monotonic()
        if now >= self._next_expire:
            self._next_expire = now + _EXPIRE_EVERY_S
            self.delivery.housekeeping()
        self._report_spool_health()

    @property
    def published(self) -> int:
        """Messages delivered so far (PUBACK or receipt, as configured)."""
        return self.delivery.published

    def _report_spool_health(self) -> None:
        """An event when the spool stops taking writes and when it takes them again."""
        degraded = self.delivery.degraded
        if (degraded is None) == (self._reported_degraded is None):
            return
        self._reported_degraded = degraded
        if degraded is not None:
            self.emit_event(
                "spool_degraded",
                "warning",
                "spool cannot be written: sending live readings without it",
                {"error": degraded[:200]},
            )
        else:
            self.emit_event("spool_recovered", "info", "spool takes writes again")

    def crash(self) -> None:
        """Simulation: the controller loses power (call ``run``'s stop after)."""
        self.crashed = True
        self.session.crash()

    def close(self) -> None:
        self.updater.close()
        self.diagnostics.close()
        self.delivery.take_acks()
        self.delivery.tick()
        if not self.crashed:
            self.session.stop()
            self.delivery.close()
            self.usage.close()
        if self.proof is not None:
            self.proof.close()  # no grab started after this, none waited for long
        for collector in self.collectors.values():
            collector.close()
        self.spool.close()

    def _sleep_time(self) -> float:
        batch_due = self.delivery.wake_in()  # a batch held back goes out in time
        limit = _MAX_SLEEP_S if batch_due is None else min(_MAX_SLEEP_S, batch_due)
        if not self._due:
            return limit
        return max(0.0, min(limit, min(self._due.values()) - self._monotonic()))

    def uptime_s(self) -> int:
        return int(self._monotonic() - self._started)

    # -- collecting -------------------------------------------------------------------
    def _collect_due(self) -> None:
        now = self._monotonic()
        for kind, due in list(self._due.items()):
            if now >= due:
                # the adaptive mode stretches some intervals (never the heartbeat's)
                interval = getattr(self.config.intervals, kind.value) * self.usage.scale(kind)
                # Keep the schedule's phase, but never fire a burst after a stall.
                self._due[kind] = max(due + interval, now + interval / 2)
                self.collect(kind)

    def collect(self, kind: fp.TelemetryKind) -> bool:
        collector = self.collectors[kind]
        if self.sim is not None:
            self.sim.advance()
        try:
            data = collector.collect()
        except NotPresent as exc:
            if kind not in self._absent:
                log.info("%s: not present on this board (%s)", kind.value, exc)
                self._absent.add(kind)
            self._due.pop(kind, None)
            return False
        except CollectorError as exc:
            if not (kind is fp.TelemetryKind.DISPLAY and self.kill_switch.mode):
                self._collector_failed(kind, str(exc))
                return False
            # Halted: the stopped player's status goes stale; the agent says
            # what it knows (it stopped the player, it blanked the screen).
            blank = self.kill_switch.mode == "blank_screen"
            data = fp.DisplayData(screen_on=False if blank else None, player_running=False)
        except ValueError as exc:
            # A device answered with something the protocol refuses (a value
            # out of bounds, a control character): a failed reading, never a
            # stopped agent. pydantic's ValidationError is a ValueError.
            self._collector_failed(kind, _refused(exc))
            return False
        if kind in self._failing:
            del self._failing[kind]
            log.info("%s collector works again", kind.value)
            self.emit_event(
                "collector_recovered",
                "info",
                f"{kind.value} readings are back",
                {"kind": kind.value},
            )
        if kind is fp.TelemetryKind.DISPLAY:
            data = self._enforce_halt(data)
            self._report_play(data)
        if kind is fp.TelemetryKind.NETWORK:
            data = data.model_copy(update={"data_usage": self.usage.report()})
        if kind is fp.TelemetryKind.HEARTBEAT:
            data = data.model_copy(
                update={
                    "spool_pending": self.delivery.pending,
                    "spool_dropped": self.delivery.dropped,
                    "spool_degraded": self.delivery.degraded is not None,
                }
            )
        try:
            self.spool_message(
                fp.TELEMETRY_MODELS[kind],
                fp.telemetry_topic(self.config.device_id, kind),
                data,
                PRIORITY_TELEMETRY,
            )
        except ValueError as exc:  # fp.ProtocolError: the message would be refused
            self._collector_failed(kind, _refused(exc))
            return False
        at = datetime.fromtimestamp(self._clock(), UTC).isoformat()
        self._readings[kind.value] = {"at": at, "data": data.model_dump(mode="json")}
        return True

    # -- logs and diagnostics (edge_agent.diagnostics) --------------------------------
    def collect_logs(self, request_id: str, args: fp.CollectLogsArgs) -> None:
        """Start making the bundles; ``_send_log_bundles`` answers when done."""
        from edge_agent.diagnostics.report import BoardState  # noqa: PLC0415 - on command only

        state = BoardState(
            device_id=self.config.device_id,
            agent_version=__version__,
            boot=self.boot,
            uptime_s=self.uptime_s(),
            simulated=self.sim is not None,
            config=self.config,
            spool={
                "pending": self.delivery.pending,
                "dropped": self.delivery.dropped,
                "degraded": self.delivery.degraded,
            },
            readings=json.loads(json.dumps(self._readings)),
            failing={kind.value: error for kind, error in self._failing.items()},
            absent=sorted(kind.value for kind in self._absent),
            halted=self.kill_switch.mode,
            config_version=self.config_version,
        )
        self.diagnostics.submit(request_id, args, state)

    def _send_log_bundles(self) -> None:
        for done in self.diagnostics.finished():
            sent: list[str] = []
            size = 0
            errors = list(done.errors)
            for bundle in done.bundles:
                try:
                    self.spool_message(
                        fp.LogBundleMessage,
                        fp.logs_topic(self.config.device_id),
                        bundle,
                        PRIORITY_SNAPSHOT,
                    )
                except ValueError as exc:  # fp.ProtocolError: refused as a message
                    errors.append(f"{bundle.kind}: {str(exc).splitlines()[0][:200]}")
                    continue
                sent.append(bundle.kind)
                size += len(bundle.body)
            output: dict[str, Any] = {"bundles": sent, "bytes": size}
            if errors:
                output["errors"] = [fp.printable(e)[:200] for e in errors[:8]]
            status = "ok" if sent else "error"
            error = None if sent else "; ".join(output.get("errors", ["nothing collected"]))[:500]
            log.info(
                "collect_logs %s: %s sent (%d bytes)", done.request_id, sent or "nothing", size
            )
            self._answer(done.request_id, fp.COLLECT_LOGS_COMMAND, Outcome(status, output, error))

    # -- pictures (edge_agent.proof) --------------------------------------------------
    def _send_pictures(self) -> None:
        """The pictures owed: when a verdict turned bad, and the interval's."""
        if self.proof is None:
            return
        for picture in self.proof.due_pictures():
            self._spool_picture(picture)

    def _spool_picture(self, picture: fp.SnapshotData) -> int:
        return self.spool_message(
            fp.SnapshotMessage,
            fp.snapshot_topic(self.config.device_id),
            picture,
            PRIORITY_SNAPSHOT,
        )

    def screenshot(
        self, source: str, camera_id: str | None, request_id: str
    ) -> tuple[list[dict[str, Any]], list[str]]:
        """Pictures now (the ``screenshot`` command): what was sent, and why
        any target gave none. Counted against the day's budget, never refused by it."""
        if self.proof is None:
            return [], ["this board takes no pictures (simulated)"]
        cameras = [c.id for c in self.config.cameras]
        if source == "screen":
            targets = ["screen"]
        elif source == "camera":
            if camera_id is None and len(cameras) != 1:
                return [], [f"camera_id needed: this board has {len(cameras)} cameras"]
            targets = [camera_id or cameras[0]]
        else:
            targets = (["screen"] if self.proof.screen_source() else []) + cameras
        sent: list[dict[str, Any]] = []
        errors: list[str] = []
        for result in self.proof.pictures(targets, "command", request_id):
            if isinstance(result, fp.SnapshotData):
                self._spool_picture(result)
                sent.append(
                    {
                        "source": result.source,
                        "camera_id": result.camera_id,
                        "bytes": len(result.jpeg),
                        "width": result.width,
                        "height": result.height,
                        "phash": result.phash,
                    }
                )
            else:
                errors.append(str(result)[:200])
        return sent, errors

    def _report_play(self, data: Any) -> None:
        finished = self.plays.observe(data, datetime.fromtimestamp(self._clock(), UTC))
        if finished is not None:
            name = finished["content_id"] or finished["content_sha256"][:12]
            try:
                self.emit_event(plays.EVENT, "info", f"played {name}", finished)
            except ValueError as exc:  # a record the protocol refuses is not worth a crash
                log.warning("play record of %s not sent: %s", name[:64], str(exc)[:200])

    def _collector_failed(self, kind: fp.TelemetryKind, error: str) -> None:
        if self._failing.get(kind) != error:
            log.warning("%s collector failed: %s", kind.value, error)
            if kind not in self._failing:
                self.emit_event(
                    "collector_failed",
                    "warning",
                    f"{kind.value} readings failed",
                    {"kind": kind.value, "error": error[:200]},
                )
            self._failing[kind] = error

    def collect_now(self, kinds: list[str] | None) -> list[str]:
        wanted = [fp.TelemetryKind(k) for k in kinds] if kinds else list(self._due)
        return [kind.value for kind in wanted if kind in self.collectors and self.collect(kind)]

    # -- spooling ---------------------------------------------------------------------
    def spool_message(self, model: type[Any], topic: str, data: BaseModel, priority: int) -> int:
        now = datetime.fromtimestamp(self._clock(), UTC)
        device, boot = self.config.device_id, self.boot

        def make(seq: int) -> bytes:
            return fp.encode(
                model(
                    schema_version=1,
                    device_id=device,
                    boot=boot,
                    seq=seq,
                    measured_at=now,
                    sent_at=now,
                    replay=False,
                    data=data,
                )
            )

        seq = self.delivery.store(topic, make, priority)
        self.wake.set()
        return seq

    def emit_event(
        self, event_type: str, severity: str, message: str, details: dict[str, Any] | None = None
    ) -> None:
        data = fp.EventData(
            type=event_type,
            severity=severity,  # type: ignore[arg-type]
            message=message,
            details=details or {},
        )
        self.spool_message(
            fp.EventMessage, fp.event_topic(self.config.device_id, event_type), data, PRIORITY_KEEP
        )

    # -- commands ---------------------------------------------------------------------
    def _receive(self, topic: str, payload: bytes) -> None:
        """MQTT thread: queue for the main thread."""
        self._inbox.append((topic, payload))

    def _take_inbox(self) -> None:
        while self._inbox:
            topic, payload = self._inbox.popleft()
            try:
                message = fp.decode(topic, payload)
            except fp.ProtocolError as exc:
                self._answer_undecodable(topic, payload, exc)
                continue
            if isinstance(message, fp.Receipt):
                self.delivery.take_receipt(message)
            elif isinstance(message, fp.CommandRequest):
                self._handle_command(message)
            elif isinstance(message, fp.ConfigDesired):
                self._handle_desired(message)
            elif isinstance(message, fp.Capabilities):
                self.delivery.take_capabilities(message)

    def _handle_command(self, request: fp.CommandRequest) -> None:
        try:
            seen = self.spool.command_seen(request.request_id)
        except SpoolError as exc:
            log.warning("cannot check command %s against the spool: %s", request.request_id, exc)
            seen = False
        if seen:
            log.info("command %s already answered; ignoring the duplicate", request.request_id)
            return
        outcome = self.commands.execute(request)
        if outcome is not LATER:
            self._answer(request.request_id, request.command, outcome)

    def _answer(self, request_id: str, command: str, outcome: Outcome) -> None:
        data = fp.CommandResultData(
            request_id=request_id,
            command=command,
            status=outcome.status,  # type: ignore[arg-type]
            output=outcome.output,
            error=outcome.error,
        )
        self.spool_message(
            fp.CommandResultMessage,
            fp.command_result_topic(self.config.device_id),
            data,
            PRIORITY_KEEP,
        )
        try:
            self.spool.remember_command(request_id)
        except SpoolError as exc:
            log.warning("command %s answered but not remembered: %s", request_id, exc)

    def _answer_undecodable(self, topic: str, payload: bytes, exc: fp.ProtocolError) -> None:
        log.warning("bad message on %s ignored: %s", topic[:120], exc)
        try:
            doc = json.loads(payload)
            request_id = str(doc["request_id"])
            parsed = fp.parse_topic(topic)
        except (ValueError, KeyError, TypeError, fp.ProtocolError):
            return  # nothing to correlate an answer with
        if parsed.channel is not fp.Channel.CMD or parsed.name is None:
            return
        try:
            self._answer(request_id, parsed.name, Outcome("rejected", error=str(exc)[:500]))
        except (ValueError, fp.ProtocolError):
            log.warning("cannot answer command with request id %r", request_id[:80])

    def _handle_desired(self, desired: fp.ConfigDesired) -> None:
        if desired.version <= self.config_version:
            return
        error: str | None = None
        try:
            self.apply_config(merge_config(self.config, dict(desired.config)))
        except ValueError as exc:
            error = str(exc)[:500]
        self.config_version = desired.version
        data = fp.ConfigReportedData(
            version=desired.version, applied=error is None, error=error, config=dict(desired.config)
        )
        self.spool_message(
            fp.ConfigReportedMessage,
            fp.config_reported_topic(self.config.device_id),
            data,
            PRIORITY_KEEP,
        )

    # -- the kill switch (Điều 12.2, edge_agent.kill_switch) -------------------------
    def halted(self) -> fp.HaltMode | None:
        return self.kill_switch.mode

    def halt(self, mode: fp.HaltMode, reason: str) -> dict[str, Any]:
        done = self.kill_switch.halt(mode, reason)
        self._halt_error = None
        self._halt_fresh = True
        self.collect_now([fp.TelemetryKind.DISPLAY.value])  # the server sees it at once
        return done

    def resume(self, reason: str) -> dict[str, Any]:
        done = self.kill_switch.resume(reason)
        self.collect_now([fp.TelemetryKind.DISPLAY.value])
        return done

    def restore_halt(self) -> None:
        """At start: a board halted by order stays halted until ``resume``."""
        order = self.kill_switch.current
        if order is None:
            return
        self._halt_fresh = self._apply_halt_again(
            "halt_restored", f"still halted by order ({order.mode}) after a restart"
        )

    def _enforce_halt(self, data: BaseModel) -> BaseModel:
        """While halted, every display reading applies the order again (the
        player may have been started by hand, the screen woken up; both
        commands are harmless to repeat) and reports what the agent made of
        the board: nothing on air. Only when that fails is the reading
        reported as measured, with the failure as an event."""
        order = self.kill_switch.current
        if order is None or not isinstance(data, fp.DisplayData):
            return data
        if self._halt_fresh:
            self._halt_fresh = False  # carried out a moment ago
        elif not self._apply_halt_again(None, ""):
            return data.model_copy(update={"halted": order.mode})
        blank = order.mode == "blank_screen"
        return fp.DisplayData(
            screen_on=False if blank else data.screen_on,
            player_running=False,
            halted=order.mode,
            # what the screen really shows while halted: the proof the order holds
            screen=data.screen,
            screen_error=data.screen_error,
        )

    def _apply_halt_again(self, event: str | None, message: str) -> bool:
        """Carry out the order in force again; ``event`` (with ``message``)
        reports success. A failure is reported once per distinct error."""
        order = self.kill_switch.current
        assert order is not None
        details = {"mode": order.mode, "reason": order.reason[:200], "since": order.since}
        try:
            detail = self.kill_switch.apply_again()
        except Exception as exc:  # never fatal: the next reading tries again
            error = f"{type(exc).__name__}: {exc}"[:200]
            if error != self._halt_error:
                log.error("cannot apply the halt order (%s): %s", order.mode, error)
                self.emit_event(
                    "halt_failed",
                    "error",
                    f"the halt order ({order.mode}) cannot be carried out",
                    {**details, "error": error},
                )
            self._halt_error = error
            return False
        self._halt_error = None
        if event is not None:
            self.emit_event(event, "warning", message, {**details, "detail": detail[:200]})
        return True

    # -- effects the commands ask for -------------------------------------------------
    def apply_config(self, config: AgentConfig) -> None:
        self.config = config
        self.spool.max_bytes = config.spool.max_bytes
        self.spool.max_age_s = config.spool.max_age_days * 86_400
        self.spool.reserve_bytes = config.spool.reserve_bytes
        logging.getLogger("edge_agent").setLevel(config.log_level)
        if self.sim is None:
            for collector in self.collectors.values():
                collector.close()
            self.collectors = _build(config, None, self.proof)
        now = self._monotonic()
        self._due = {kind: now for kind in self.collectors if kind not in self._absent}
        log.info("configuration applied")

    def update(self, args: dict[str, Any]) -> tuple[str, dict[str, Any] | None, str | None]:
        return self.updater.command(args)

    def restart_player(self) -> str:
        if self.sim is not None:
            self.sim.player_running = True
            self.sim.screen_on = True
            return "simulated player restarted"
        unit = self.board_config.display.player_unit
        if not unit:
            raise RuntimeError("no display.player_unit configured")
        self._systemctl("restart", unit)
        return f"restarted {unit}"

    def reboot(self) -> str:
        if self.sim is not None:
            return "simulated reboot (nothing rebooted)"
        # Delay so the answer can still leave the board.
        subprocess.Popen(["sh", "-c", "sleep 10 && systemctl reboot"])
        return "rebooting in 10 s"


def _systemctl(*args: str) -> None:
    subprocess.run(["systemctl", *args], check=True, timeout=60, capture_output=True)


def _refused(exc: ValueError) -> str:
    """Why a reading was refused, in one printable line (no raw input: it may
    hold the very characters the protocol refuses)."""
    return fp.printable("reading refused by the protocol: " + str(exc).splitlines()[0])[:200]


def _build(
    config: AgentConfig, sim: SimulatedBoard | None, proof: Proof | None
) -> dict[fp.TelemetryKind, Collector]:
    from edge_agent.collectors import build_collectors  # noqa: PLC0415 - heavy, optional

    return build_collectors(config, sim, proof)


def _release_memory() -> None:
    """Hand start-up garbage (pydantic builds its validators at import) back to
    the OS: a board controller has little RAM to spare."""
    gc.collect()
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").malloc_trim(0)
