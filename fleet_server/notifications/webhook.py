"""Webhook transport: POST the JSON body, signed with the contact's secret.

Headers: ``X-Fleet-Signature: sha256=<hex HMAC-SHA256 of the raw body>``,
``X-Fleet-Timestamp`` (Unix seconds; the body's ``sent_at`` says the same and
is covered by the signature, so receivers can refuse replays) and
``X-Fleet-Delivery`` and ``Idempotency-Key`` (the same id, stable across
retries of the same notices, for de-duplication; the latter is the IETF
httpapi draft's header, whose value is a quoted structured-field string).
A 2xx answer is a delivery; anything else, redirects included, is retried.
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import json
import logging
import ssl
from typing import Any
from urllib.parse import urlsplit

from fleet_server.notifications.models import DeliveryError, OutgoingMessage

log = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Fleet-Signature"
TIMESTAMP_HEADER = "X-Fleet-Timestamp"
DELIVERY_HEADER = "X-Fleet-Delivery"
IDEMPOTENCY_HEADER = "Idempotency-Key"
USER_AGENT = "laichau-fleet-notifications/1"


def sign(body: bytes, secret: str) -> str:
    """The ``X-Fleet-Signature`` value for ``body``."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verify(body: bytes, secret: str, signature: str) -> bool:
    """For receivers written in Python: constant-time check of the header."""
    return hmac.compare_digest(sign(body, secret), signature)


def idempotency_key(delivery_id: str) -> str:
    """The ``Idempotency-Key`` value: the delivery id as a structured-field string."""
    return '"' + delivery_id.replace("\\", "\\\\").replace('"', '\\"') + '"'


def encode_body(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()


class WebhookTransport:
    def __init__(self, timeout_s: float, *, ssl_context: ssl.SSLContext | None = None) -> None:
        self.timeout_s = timeout_s
        self._ssl = ssl_context

    def send(self, message: OutgoingMessage) -> str:
        if not message.webhook_secret:
            raise DeliveryError("webhook contact has no secret", permanent=True)
        parts = urlsplit(message.address)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise DeliveryError(f"bad webhook URL {message.address!r}", permanent=True)
        body = encode_body(message.payload)
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "User-Agent": USER_AGENT,
            SIGNATURE_HEADER: sign(body, message.webhook_secret),
            TIMESTAMP_HEADER: str(int(message.sent_at.timestamp())),
            DELIVERY_HEADER: message.message_id,
            IDEMPOTENCY_HEADER: idempotency_key(message.message_id),
        }
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        conn = self._connection(parts.scheme, parts.hostname, parts.port)
        try:
            conn.request("POST", path, body=body, headers=headers)
            response = conn.getresponse()
            answer = response.read(300)
        except (OSError, http.client.HTTPException) as exc:
            raise DeliveryError(f"webhook {parts.hostname}: {exc or type(exc).__name__}") from exc
        finally:
            conn.close()
        summary = f"HTTP {response.status} {' '.join(answer.decode('utf-8', 'replace').split())}"
        if 200 <= response.status < 300:
            return summary.strip()
        raise DeliveryError(f"webhook {parts.hostname} answered {summary}".strip())

    def _connection(self, scheme: str, host: str, port: int | None) -> http.client.HTTPConnection:
        if scheme == "https":
            context = self._ssl or ssl.create_default_context()
            return http.client.HTTPSConnection(host, port, timeout=self.timeout_s, context=context)
        return http.client.HTTPConnection(host, port, timeout=self.timeout_s)
