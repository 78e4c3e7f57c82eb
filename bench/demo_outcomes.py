"""Demo outcome drill: every scenario of ``fleet-server demo`` under the demo
rule profile shows what its forecast prints, by the printed time.

The test command checks ``site-power-cut`` (the issue's own example) and a
restart; this drill runs the other scenarios (camera-failure, camera-covered,
screen-frozen, unapproved-content, stuck-agent, uplink-flap) with the same
machinery — real PostgreSQL, Mosquitto, ingest, engine, notification worker
and mail catcher, real edge agents — about 35 s each, so it lives here and
not in the suite. screen-frozen counts only in the broadcast windows
(06:30–09:30, 16:30–19:30 Vietnam time): outside them it is skipped, as its
forecast says there is nothing to see.

    .venv/bin/python -m bench.demo_outcomes            # all of them
    .venv/bin/python -m bench.demo_outcomes -k uplink  # one
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TESTS = "tests/server/simulator/test_demo_outcome.py"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("-k", dest="keyword", help="only scenarios matching this pytest -k")
    args = parser.parse_args()
    command = [sys.executable, "-m", "pytest", "-m", "drill", "-p", "no:cacheprovider", TESTS]
    if args.keyword:
        command += ["-k", args.keyword]
    started = time.monotonic()
    status = subprocess.call([*command, "-v"], cwd=ROOT)
    print(
        f"demo outcome drill: {'passed' if status == 0 else 'FAILED'}"
        f" in {time.monotonic() - started:.0f} s"
    )
    sys.exit(status)


if __name__ == "__main__":
    main()
