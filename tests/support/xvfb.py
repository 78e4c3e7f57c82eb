"""A real X server (Debian's Xvfb) whose root window a test paints with
``xsetroot`` (x11-xserver-utils): black, or a random pattern of black and
white blocks, as a board's screen shows a player's content."""

from __future__ import annotations

import os
import random
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

WIDTH, HEIGHT = 640, 360
_BLOCK = 40


class Screen:
    def __init__(self, display: str, workdir: Path) -> None:
        self.display = display
        self.workdir = workdir

    def paint(self, *args: str) -> None:
        subprocess.run(
            ["xsetroot", *args],
            env={**os.environ, "DISPLAY": self.display},
            check=True,
            timeout=10,
        )

    def black(self) -> None:
        self.paint("-solid", "black")

    def blocks(self, seed: int) -> None:
        """A random pattern of 40-pixel black and white blocks (an XBM bitmap)."""
        rng = random.Random(seed)
        cells = [
            [rng.random() < 0.5 for _ in range(WIDTH // _BLOCK)]
            for _ in range(HEIGHT // _BLOCK + 1)
        ]
        data = bytearray()
        for y in range(HEIGHT):
            row = [cells[y // _BLOCK][x // _BLOCK] for x in range(WIDTH)]
            for byte in range(WIDTH // 8):
                bits = row[byte * 8 : byte * 8 + 8]
                data.append(sum(1 << i for i, on in enumerate(bits) if on))  # XBM: LSB first
        path = self.workdir / f"blocks-{seed}.xbm"
        body = ",\n".join(
            ",".join(f"0x{b:02x}" for b in data[i : i + 12]) for i in range(0, len(data), 12)
        )
        path.write_text(
            f"#define b_width {WIDTH}\n#define b_height {HEIGHT}\n"
            f"static unsigned char b_bits[] = {{\n{body}}};\n"
        )
        self.paint("-bitmap", str(path), "-fg", "white", "-bg", "black")


def require_tools() -> None:
    for tool in ("Xvfb", "xsetroot", "ffmpeg"):
        if shutil.which(tool) is None:
            raise RuntimeError(
                f"{tool} not found: install the Debian packages xvfb, x11-xserver-utils, ffmpeg"
            )


@contextmanager
def xvfb(workdir: Path) -> Iterator[Screen]:
    """An Xvfb of ``WIDTH`` × ``HEIGHT`` on a display number it picks itself."""
    require_tools()
    read, write = os.pipe()
    # -displayfd: Xvfb picks a free display number itself and writes it here
    proc = subprocess.Popen(
        [
            "Xvfb",
            "-displayfd",
            str(write),
            "-screen",
            "0",
            f"{WIDTH}x{HEIGHT}x24",
            "-nolisten",
            "tcp",
            "-noreset",
        ],
        pass_fds=(write,),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    os.close(write)
    try:
        with os.fdopen(read) as numbers:
            number = numbers.readline().strip()
        assert number.isdigit(), "Xvfb did not start"
        yield Screen(f":{number}", workdir)
    finally:
        proc.terminate()
        proc.wait(10)
