"""Removing credentials from URLs: one definition for the agent and the server.

The agent redacts what it shows or sends (camera errors, configured URLs in
log lines); ingest redacts what it keeps of a refused message (dead letters).
A redacted text never trips the protocol's credential check
(``CREDENTIAL_PATTERN``): whatever that check calls a user name and password
is removed here, and so is a user name without a password.

Payloads are matched as they travel, so the JSON spellings of ``/`` (``\\/``,
``\\u002f``) and ``@`` (``\\u0040``) count as those characters. Every part of
the pattern is bounded and never backtracks into a user name or
password, so the cost stays linear on hostile input.
"""

from __future__ import annotations

import re

_SCHEME = r"[A-Za-z][A-Za-z0-9+.-]{0,31}:"
_SLASH = r"(?:/|\\/|\\u002[fF])"
_AT = r"(?:@|\\u0040)"
#: user name: no white space, '/', '@', '"' or ':'; a JSON escape other than '/' or '@'
_USER = r"(?:[^\s/@\"\\:]|\\(?!/|u002[fF]|u0040)\S){0,256}+"
#: after a colon, the password: as the protocol's check reads it, '/' and ':' included
_AFTER_COLON = r"(?:[^\s@\"\\]|\\(?!u0040)\S){0,256}+"
PATTERN = rf"({_SCHEME}{_SLASH}{_SLASH}){_USER}(?::{_AFTER_COLON})?{_AT}"

_TEXT = re.compile(PATTERN)
_BYTES = re.compile(PATTERN.encode())
#: a URL's authority left open by a cut: its user info may be in it
_OPEN_AUTHORITY = re.compile(rf"({_SCHEME}{_SLASH}{_SLASH})[^\s\"]*\Z".encode())
#: the longest text PATTERN matches, with room to spare
_LONGEST_MATCH = 1024


def redact(text: str) -> str:
    """``rtsp://admin:secret@10.0.0.5/s`` → ``rtsp://10.0.0.5/s`` (anywhere in text)."""
    return _TEXT.sub(r"\1", text)


def redact_bytes(data: bytes) -> bytes:
    """The same for raw bytes (a payload that may not even be UTF-8)."""
    return _BYTES.sub(rb"\1", data)


def redact_cut(data: bytes, size: int) -> bytes:
    """At most ``size`` bytes of ``data``, redacted. A credential that starts
    before the cut is removed whole; whatever follows a ``scheme://`` left
    open at the cut is dropped. Reads ``size`` + 1 KiB, whatever ``data``'s
    length."""
    kept = redact_bytes(data[: size + _LONGEST_MATCH])[:size]
    if len(data) > size:
        kept = _OPEN_AUTHORITY.sub(rb"\1", kept)
    return kept


__all__ = ["PATTERN", "redact", "redact_bytes", "redact_cut"]
