"""A progress bar for long report runs: drawn in place on a terminal, one
plain line per step otherwise (logs, pipes, CI)."""

from __future__ import annotations

import sys
from typing import TextIO


class ProgressBar:
    def __init__(self, total: int, *, stream: TextIO | None = None, width: int = 30) -> None:
        self.total = max(total, 1)
        self.done = 0
        self.stream = stream if stream is not None else sys.stderr
        self.width = width
        self.tty = self.stream.isatty()

    def __call__(self, step: str) -> None:
        """Starting ``step``: draw the bar for the steps done so far."""
        self._draw(step)
        self.done += 1

    def finish(self, step: str = "xong / done") -> None:
        self.done = self.total
        self._draw(step)
        if self.tty:
            self.stream.write("\n")
        self.stream.flush()

    def _draw(self, step: str) -> None:
        filled = round(self.width * self.done / self.total)
        bar = "#" * filled + "-" * (self.width - filled)
        line = f"[{bar}] {self.done}/{self.total} {step}"
        if self.tty:
            self.stream.write("\r\033[K" + line)
        else:
            self.stream.write(line + "\n")
        self.stream.flush()
