"""Fault drills: break one real component under load, repair it, count what
the boards generated against what PostgreSQL stored (docs/reliability.md).

    .venv/bin/python -m bench.drills                      # every drill (about 35 min)
    .venv/bin/python -m bench.drills --drill broker_kill --drill ingest_kill
    .venv/bin/python -m bench.drills --quick              # short outages, small load

Prints one JSON line describing the machine, then one per drill:
``{"drill", "published", "stored_distinct", "duplicate_rows", "lost",
"dead_lettered", "recovery_s", "drained_s", "peak_rss_mb", "ok", …}``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import subprocess
import tempfile
import time
import traceback
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg

from bench.database import machine
from bench.drill_notify import engine_failover
from bench.drill_run import FULL, QUICK, Ctx, Run, agent_delivery, skipped
from bench.drill_stack import REPO, Cluster, wait_until


def ingest_kill(ctx: Ctx) -> dict[str, Any]:
    """kill -9 of the ingest process mid-stream; a new one after ``ingest_down_s``."""
    with Run(ctx, "ingest_kill") as run:
        run.add_boards(ctx.scale.agents)
        run.start()
        assert run.ingest is not None
        run.ingest.kill()
        time.sleep(ctx.scale.ingest_down_s)
        run.fault_end = time.time()
        run.ingest = run.stack.ingest()
        run.notes["fault"] = {"ingest": "kill -9", "down_s": ctx.scale.ingest_down_s}
        time.sleep(ctx.scale.after_s)
        return run.finish()


def _broker_outage(ctx: Ctx, name: str, how: str) -> dict[str, Any]:
    with Run(ctx, name) as run:
        run.add_boards(ctx.scale.agents)
        run.start()
        broker = run.stack.broker
        if how == "kill":
            broker.kill()
        else:
            broker.stop()  # SIGTERM: Mosquitto writes its persistence file
        time.sleep(ctx.scale.broker_down_s)
        run.fault_end = time.time()
        broker.start()
        run.notes["fault"] = {
            "broker": "kill -9" if how == "kill" else "SIGTERM",
            "down_s": ctx.scale.broker_down_s,
        }
        time.sleep(ctx.scale.after_s)
        return run.finish()


def broker_term(ctx: Ctx) -> dict[str, Any]:
    """Mosquitto stopped (SIGTERM) mid-stream; boards keep measuring; restarted."""
    return _broker_outage(ctx, "broker_term", "term")


def broker_kill(ctx: Ctx) -> dict[str, Any]:
    """Mosquitto killed (kill -9) mid-stream; boards keep measuring; restarted."""
    return _broker_outage(ctx, "broker_kill", "kill")


def broker_kill_backlog(ctx: Ctx) -> dict[str, Any]:
    """Mosquitto killed -9 while it holds a backlog for ingest: PostgreSQL is
    stopped for ``backlog_s`` first, so the broker queues what the boards
    send (and acknowledged); restarted after ``broker_down_s``, then
    PostgreSQL. Not in the issue's list: it is the case receipts exist for."""
    with Run(ctx, "broker_kill_backlog") as run:
        run.add_boards(ctx.scale.agents)
        run.start()
        pg = ctx.cluster.pg
        pg.stop(mode="fast")
        time.sleep(ctx.scale.backlog_s)
        run.stack.broker.kill()
        time.sleep(ctx.scale.broker_down_s)
        run.fault_end = time.time()
        run.stack.broker.start()
        pg.start()
        run.notes["fault"] = {
            "postgres": "pg_ctl stop -m fast, then the broker kill -9",
            "backlog_s": ctx.scale.backlog_s,
            "broker_down_s": ctx.scale.broker_down_s,
        }
        time.sleep(ctx.scale.after_s)
        return run.finish()


def postgres_stop(ctx: Ctx) -> dict[str, Any]:
    """PostgreSQL stopped (``pg_ctl stop -m fast``) for ``pg_down_s`` at
    ``pg_rate`` msg/s (the multi-board publisher plus two real agents)."""
    with Run(ctx, "postgres_stop") as run:
        run.add_boards(2)
        run.add_publisher(ctx.scale.pg_boards, ctx.scale.pg_rate)
        run.start()
        pg = ctx.cluster.pg
        pg.stop(mode="fast")
        time.sleep(ctx.scale.pg_down_s)
        run.fault_end = time.time()
        pg.start()
        run.notes["fault"] = {"postgres": "pg_ctl stop -m fast", "down_s": ctx.scale.pg_down_s}
        time.sleep(ctx.scale.after_s)
        return run.finish()


def agent_offline(ctx: Ctx) -> dict[str, Any]:
    """One board's uplink cut for ``offline_s`` (it keeps measuring), then the
    agent killed -9 while it replays its backlog; systemd-like restart."""
    with Run(ctx, "agent_offline") as run:
        run.add_boards(ctx.scale.agents - 1)
        (board,) = run.add_boards(1, link=True)
        assert board.link is not None
        run.affected = {board.device_id}
        run.start()
        board.link.cut()
        time.sleep(ctx.scale.offline_s)
        backlog = board.pending()
        run.fault_end = time.time()
        board.link.restore()
        # kill it once about a third of the backlog has gone (the replay is fast)
        replaying = wait_until(lambda: 0 <= board.pending() < backlog * 0.7, 120, 0.02)
        pending_at_kill = board.pending()
        killed_at = time.time()
        board.kill()
        run.notes["fault"] = {
            "uplink": "cut (dead path: no bytes, new connections refused)",
            "offline_s": ctx.scale.offline_s,
            "backlog_at_restore": backlog,
            "killed_during_replay": replaying,
            "killed_after_restore_s": round(killed_at - run.fault_end, 2),
            "pending_at_kill": pending_at_kill,
        }
        time.sleep(ctx.scale.after_s)
        return run.finish()


def _mount_tmpfs(path: Path, mb: int) -> str | None:
    path.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={mb}m,mode=0777", "drill-spool", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    return None if done.returncode == 0 else (done.stderr.strip() or "mount failed")


def _fill(path: Path) -> int:
    """Write ``path`` until the file system refuses (ENOSPC); bytes written."""
    written = 0
    chunk = b"\0" * 65536
    with path.open("wb", buffering=0) as out:
        while True:
            try:
                written += out.write(chunk) or 0
            except OSError:
                for size in (4096, 512, 64):  # the last crumbs too
                    with contextlib.suppress(OSError):
                        while True:
                            written += out.write(b"\0" * size) or 0
                return written


def disk_full(ctx: Ctx) -> dict[str, Any]:
    """One board's spool on a small tmpfs that another file fills (like logs
    filling /var) for ``disk_full_s`` while the board keeps its uplink: it
    must go on publishing live, report spool_degraded and lose nothing."""
    return _disk_full(ctx, "disk_full", cut_uplink=False)


def disk_full_offline(ctx: Ctx) -> dict[str, Any]:
    """The compound fault: the same full disk while the board's uplink is cut
    too, so nothing can be kept but the agent's bounded memory (1,000
    messages); the uplink comes back while the disk is still full. Loss is
    expected beyond that bound and reported, not hidden."""
    return _disk_full(ctx, "disk_full_offline", cut_uplink=True)


def _disk_full(ctx: Ctx, name: str, *, cut_uplink: bool) -> dict[str, Any]:
    mount = ctx.work / name / "spool-fs"
    if os.geteuid() != 0:
        return skipped(name, "needs root to mount a tmpfs")
    refused = _mount_tmpfs(mount, ctx.scale.disk_mb)
    if refused:
        return skipped(name, f"cannot mount a tmpfs: {refused}")
    try:
        with Run(ctx, name) as run:
            run.add_boards(ctx.scale.agents - 1)
            (board,) = run.add_boards(1, link=True, spool_dir=mount)
            assert board.link is not None
            run.affected = {board.device_id}
            run.start()
            if cut_uplink:
                board.link.cut()
            time.sleep(min(5.0, ctx.scale.disk_full_s))  # its spool grows a little
            filler = mount / "filler.bin"
            filled = _fill(filler)
            full_at = time.time()
            time.sleep(ctx.scale.disk_full_s)
            run.fault_end = time.time()
            alive = board.alive()
            if cut_uplink:
                board.link.restore()
            time.sleep(ctx.scale.after_s / 2)
            filler.unlink()
            freed_after = time.time() - run.fault_end
            time.sleep(ctx.scale.after_s / 2)
            run.notes["fault"] = {
                "spool_fs": f"tmpfs {ctx.scale.disk_mb} MiB",
                "uplink_cut": cut_uplink,
                "filler_mb": round(filled / 2**20, 2),
                "kept_full_s": round(run.fault_end - full_at, 1),
                "agent_alive_when_restored": alive,
                "disk_freed_after_restore_s": round(freed_after, 1),
            }
            result = run.finish()
            result["spool_degraded_events"] = _degraded(run.stack.db_url, board.device_id)
            result["ok"] = result["ok"] and not board.crashes
            return result
    finally:
        subprocess.run(["umount", "-l", str(mount)], capture_output=True, check=False)


def _degraded(db_url: str, device: str) -> int:
    """``spool_degraded`` events the board sent (one per degraded spell)."""
    with psycopg.connect(db_url, autocommit=True) as conn:
        row = conn.execute(
            "SELECT count(*) FROM board_events WHERE device_id = %s AND type = 'spool_degraded'",
            (device,),
        ).fetchone()
        return int(row[0]) if row else 0


def clock_step(ctx: Ctx) -> dict[str, Any]:
    """Two boards' clocks stepped, one +1 h and one -1 h, for ``clock_hold_s``,
    then stepped back, while they publish."""
    with Run(ctx, "clock_step") as run:
        files = {"ahead": run.stack.work / "clock-ahead", "behind": run.stack.work / "clock-behind"}
        for path in files.values():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text("0")
        run.add_boards(ctx.scale.agents - 1)
        stepped = {side: run.add_boards(1, clock_file=path)[0] for side, path in files.items()}
        run.affected = {b.device_id for b in stepped.values()}
        run.start()
        files["ahead"].write_text("3600")
        files["behind"].write_text("-3600")
        time.sleep(ctx.scale.clock_hold_s)
        files["ahead"].write_text("0")
        files["behind"].write_text("0")
        time.sleep(ctx.scale.after_s)
        run.notes["fault"] = {
            "clock": "+3600 s and -3600 s, then back",
            "held_s": ctx.scale.clock_hold_s,
        }
        result = run.finish()
        with psycopg.connect(run.stack.db_url, autocommit=True) as conn:
            skew = {}
            for side, board in stepped.items():
                row = conn.execute(
                    """SELECT extract(epoch FROM min(measured_at - received_at)),
                              extract(epoch FROM max(measured_at - received_at))
                         FROM telemetry_heartbeat WHERE device_id = %s""",
                    (board.device_id,),
                ).fetchone()
                skew[side] = [round(float(v)) for v in row] if row and row[0] is not None else None
        result["clock_skew_seen_s"] = skew
        del result["longest_measurement_gap_s"]  # measured_at jumps with the clock
        return result


DRILLS: dict[str, Callable[[Ctx], dict[str, Any]]] = {
    "ingest_kill": ingest_kill,
    "broker_term": broker_term,
    "broker_kill": broker_kill,
    "broker_kill_backlog": broker_kill_backlog,
    "postgres_stop": postgres_stop,
    "agent_offline": agent_offline,
    "disk_full": disk_full,
    "disk_full_offline": disk_full_offline,
    "clock_step": clock_step,
    "engine_failover": engine_failover,
}


def describe() -> dict[str, Any]:
    def out(*argv: str) -> str:
        try:
            return subprocess.run(
                argv, capture_output=True, text=True, check=False, cwd=REPO
            ).stdout.strip()
        except OSError:
            return ""

    return {
        "machine": machine(),
        # FLEET_DRILL_CODE names the code when it is not a git checkout (an export)
        "code": os.environ.get("FLEET_DRILL_CODE") or out("git", "rev-parse", "--short", "HEAD"),
        "uncommitted_changes": bool(out("git", "status", "--porcelain", "--untracked-files=no")),
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "mosquitto": out("/usr/sbin/mosquitto", "-h").splitlines()[0:1],
        "agent_delivery": agent_delivery(),
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--drill", action="append", choices=sorted(DRILLS), help="repeatable")
    parser.add_argument("--quick", action="store_true", help="short outages, small load")
    parser.add_argument("--keep", action="store_true", help="keep the work directory (logs)")
    parser.add_argument("--out", type=Path, help="also append the JSON lines to this file")
    args = parser.parse_args(argv)
    names = args.drill or list(DRILLS)
    work = Path(tempfile.mkdtemp(prefix="fleet-drills-"))
    failures = 0

    def emit(line: dict[str, Any]) -> None:
        text = json.dumps(line, default=str)
        print(text, flush=True)
        if args.out:
            with args.out.open("a") as out:
                out.write(text + "\n")

    emit({**describe(), "quick": args.quick, "work": str(work)})
    cluster = Cluster(work)
    try:
        for name in names:
            ctx = Ctx(work, cluster, QUICK if args.quick else FULL)
            started = time.time()
            try:
                result = DRILLS[name](ctx)
            except Exception as exc:
                traceback.print_exc()
                result = {"drill": name, "ok": False, "error": f"{type(exc).__name__}: {exc}"}
                result["wall_s"] = round(time.time() - started, 1)
            if result.get("ok") is False:
                failures += 1
            emit(result)
    finally:
        cluster.close()
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
