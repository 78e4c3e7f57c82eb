"""One JSON POST over http.client, for the HTTP channels (Telegram, SMS, Zalo).

Network trouble comes back as ``None`` with the reason, never as an
exception, and never with a secret in it: the caller passes the secrets to
scrub from every text it may log or store.
"""

from __future__ import annotations

import http.client
import json
import ssl
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from fleet_server.notifications.channels.base import scrub

USER_AGENT = "laichau-fleet-notifications/1"


@dataclass(frozen=True, slots=True)
class Answer:
    status: int
    headers: dict[str, str]
    body: Any  # the parsed JSON, or None when the answer was not JSON
    text: str  # the start of the raw answer, scrubbed

    @property
    def success(self) -> bool:
        return 200 <= self.status < 300


def post_json(
    url: str,
    payload: dict[str, Any],
    *,
    timeout_s: float,
    headers: dict[str, str] | None = None,
    secrets: tuple[str, ...] = (),
    ssl_context: ssl.SSLContext | None = None,
) -> Answer | str:
    """POST ``payload`` as JSON; the answer, or why there is none (a string)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
    sent = {
        "Content-Type": "application/json; charset=utf-8",
        "Accept": "application/json",
        "User-Agent": USER_AGENT,
        **(headers or {}),
    }
    if parts.scheme == "https":
        context = ssl_context or ssl.create_default_context()
        conn: http.client.HTTPConnection = http.client.HTTPSConnection(
            host, parts.port, timeout=timeout_s, context=context
        )
    else:
        conn = http.client.HTTPConnection(host, parts.port, timeout=timeout_s)
    try:
        conn.request("POST", path, body=body, headers=sent)
        response = conn.getresponse()
        raw = response.read(64 * 1024)
        answer_headers = {k.lower(): v for k, v in response.getheaders()}
    except (OSError, http.client.HTTPException) as exc:
        return scrub(f"{host}: {exc or type(exc).__name__}", *secrets)
    finally:
        conn.close()
    # Scrubbed before anything reads it: a provider may echo a token back.
    whole = scrub(raw.decode("utf-8", "replace"), *secrets)
    text = " ".join(whole[:300].split())
    try:
        parsed = json.loads(whole) if whole else None
    except ValueError:
        parsed = None
    return Answer(response.status, answer_headers, parsed, text)


def retry_after(answer: Answer, fallback: float | None = None) -> float | None:
    """Seconds the server asked to wait: the ``Retry-After`` header (seconds)."""
    value = answer.headers.get("retry-after", "")
    try:
        return max(0.0, float(value))
    except ValueError:
        return fallback
