"""Removing credentials from URLs before they reach a message or a log line."""

from __future__ import annotations

import re

_USERINFO = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*://)[^/\s@]*@")


def redact(text: str) -> str:
    """``rtsp://admin:secret@10.0.0.5/s`` → ``rtsp://10.0.0.5/s`` (anywhere in text)."""
    return _USERINFO.sub(r"\1", text)
