"""``edge-agent`` command line (the agent itself arrives with its own issue)."""

from __future__ import annotations

import sys
from collections.abc import Sequence


def main(argv: Sequence[str] | None = None) -> int:
    print("edge-agent: not implemented yet", file=sys.stderr)
    return 2
