"""A file the server keeps (an incident photo, a board's picture or log
bundle), answered inline and fenced: never sniffed into another type, and a
page that opens it gets no script, style or request of its own."""

from __future__ import annotations

from fastapi import Response


def stored_file(body: bytes | str, media_type: str, filename: str, cache: str) -> Response:
    return Response(
        body,
        media_type=media_type,
        headers={
            "Content-Disposition": f'inline; filename="{filename}"',
            "X-Content-Type-Options": "nosniff",
            "Content-Security-Policy": "default-src 'none'; sandbox",
            "Cache-Control": cache,
        },
    )
