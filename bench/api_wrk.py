"""A second opinion from wrk (C) for a few URLs of the API benchmark
(``bench/api.py --wrk``)."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

WRK_LUA = """
local ids = {}
for line in io.lines(os.getenv("BENCH_IDS")) do ids[#ids + 1] = line end
local template = os.getenv("BENCH_PATH")
math.randomseed(os.time())
request = function()
  local path = template:gsub("{id}", ids[math.random(#ids)])
  return wrk.format("GET", path, {["Authorization"] = os.getenv("BENCH_AUTH")})
end
"""


def run_wrk(base: str, token: str, ids: list[str], args: argparse.Namespace) -> dict[str, str]:
    """wrk's latency distribution for a few URLs (50 connections, 2 threads)."""
    out: dict[str, str] = {}
    work = Path(tempfile.mkdtemp(prefix="fleet-api-wrk-"))
    (work / "ids.txt").write_text("\n".join(ids) + "\n")
    (work / "random.lua").write_text(WRK_LUA)
    for path in (
        "/api/v1/boards/{id}",
        "/api/v1/boards/{id}/telemetry/heartbeat",
        "/api/v1/boards?limit=50",
        "/api/v1/incidents?state=open",
    ):
        env = dict(
            os.environ,
            BENCH_IDS=str(work / "ids.txt"),
            BENCH_PATH=path,
            BENCH_AUTH=f"Bearer {token}",
        )
        result = subprocess.run(
            [
                "wrk",
                "-t2",
                f"-c{args.clients}",
                f"-d{int(args.duration)}s",
                "--latency",
                "-s",
                str(work / "random.lua"),
                base,
            ],
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        out[path] = result.stdout.strip() or result.stderr.strip()
        print(f"\nwrk {path}\n{out[path]}", file=sys.stderr)
    return out
