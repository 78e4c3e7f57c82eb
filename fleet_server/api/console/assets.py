"""Static files for phones on weak 4G: cached by the browser until they
change.

Pages link each file as ``/static/<name>?v=<hash of its bytes>``
(:func:`static_url`, a template global). A request carrying the file's
current hash may be kept a year (``immutable``): an upgrade changes the hash
and so the URL. Any other request (no ``v``, an old one) is answered with
``no-cache``, so the browser asks again (a 304 when nothing changed) and
never shows last version's script beside this version's page."""

from __future__ import annotations

import hashlib
from functools import cache
from pathlib import Path
from urllib.parse import parse_qs

from fastapi.staticfiles import StaticFiles
from starlette.responses import Response
from starlette.types import Scope

IMMUTABLE = "public, max-age=31536000, immutable"
REVALIDATE = "no-cache"


@cache
def _version(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:16]


def version(directory: Path, name: str) -> str:
    """The first 16 hex digits of the file's SHA-256 (read once a process)."""
    return _version((directory / name).resolve())


class VersionedStatic(StaticFiles):
    """StaticFiles whose answers say how long the browser may keep them."""

    def __init__(self, *, directory: Path) -> None:
        super().__init__(directory=directory)
        self.root = directory

    async def get_response(self, path: str, scope: Scope) -> Response:
        response = await super().get_response(path, scope)
        if response.status_code not in (200, 304):
            return response
        asked = parse_qs(scope.get("query_string", b"").decode("latin-1")).get("v", [""])[0]
        try:
            current = version(self.root, path)
        except OSError:
            current = None
        response.headers["Cache-Control"] = IMMUTABLE if asked == current else REVALIDATE
        return response
