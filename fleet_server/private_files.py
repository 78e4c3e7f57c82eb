"""Files that hold secrets or personal data, created mode 0600 from the first byte.

The mode is given to ``open(2)`` itself, so the process umask can only make it
stricter and no other user can ever open the file, not even for the moment
between creating it and a ``chmod``. An existing file is replaced by a new one
(a new inode with the new mode), never truncated in place: truncating keeps
whatever mode the old file had.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import IO, Any

PRIVATE_MODE = 0o600
PRIVATE_DIR_MODE = 0o700


def private_opener(path: str | os.PathLike[str], flags: int) -> int:
    """An ``opener`` for :func:`open`: a new file, mode 0600, symlinks refused."""
    flags |= os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    flags &= ~os.O_TRUNC
    try:
        return os.open(path, flags, PRIVATE_MODE)
    except FileExistsError:
        os.unlink(path)
        return os.open(path, flags, PRIVATE_MODE)


def open_private(path: Path | str, mode: str = "wb", **kwargs: Any) -> IO[Any]:
    """``open(path, mode)`` for writing a new private file (``w``/``wb`` modes)."""
    if not mode.startswith("w"):
        raise ValueError("open_private only creates files (mode 'w' or 'wb')")
    return open(path, mode, opener=private_opener, **kwargs)


def create_private(path: Path | str) -> None:
    """An empty private file at ``path`` (another program then writes into it)."""
    with open_private(path, "wb"):
        pass


def write_private(path: Path, data: bytes) -> Path:
    """``data`` into a new private file at ``path``."""
    with open_private(path, "wb") as out:
        out.write(data)
    return path


def private_directory(path: Path) -> Path:
    """Make ``path`` (and missing parents) with mode 0700; an existing directory
    is left as it is (it may be shared on purpose)."""
    with contextlib.suppress(FileExistsError):
        path.parent.mkdir(parents=True, exist_ok=True)
        os.mkdir(path, PRIVATE_DIR_MODE)
    return path
