"""Removing secrets from logs and configuration before they leave the board.

Three passes, in this order, over every line of a bundle:

1. the board's **own secrets**, wherever they appear, replaced by ``***``:
   the MQTT password (``credentials_file``), the password in ``mqtt_url``,
   every camera password, and every other ``SecretStr`` or text setting
   named like a password, secret, token, key or PSK (:func:`config_secrets`);
2. **credentials in URLs** (``rtsp://user:pass@host`` → ``rtsp://host``,
   ``fleet_protocol.redact``: what the server would refuse);
3. the **common shapes** of secrets the board does not know: ``password=…``,
   ``token: …``, ``"secret": "…"``, ``Authorization: …``, ``Bearer …``,
   Wi-Fi keys (``psk=…``, ``wpa_passphrase …``).

The makers' default camera accounts (``capture.default_credentials``) are
public knowledge, not secrets, and are left alone: replacing ``admin`` or
``12345`` everywhere would make the logs unreadable. A secret shorter than
:data:`MIN_SECRET_CHARS` is not replaced as text either (it would match
everywhere); the patterns still catch it after ``password=``.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterable, Iterator
from typing import Any
from urllib.parse import urlsplit

from pydantic import BaseModel, SecretStr

from edge_agent.config import AgentConfig
from edge_agent.errors import ConfigError
from fleet_protocol.redact import redact as redact_urls

MASK = "***"
MIN_SECRET_CHARS = 4
#: setting names whose text values are secrets
SECRET_NAME = re.compile(r"pass(word|wd|phrase)?|secret|token|(^|_)key$|psk|credential", re.I)

_KEY = (
    r"(?:[\w.-]*(?:password|passwd|passphrase|pwd|secret|token|api[_-]?key|access[_-]?key"
    r"|private[_-]?key|psk|wep[_-]?key\d?))"
)
_VALUE = r"""(?:\\"[^"\r\n]*?\\"|"[^"\r\n]*"|'[^'\r\n]*'|[^\s,;&"'}\\]+)"""
_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    # Authorization: Basic dXNlcjpwYXNz / Bearer eyJ… (the whole header value)
    (re.compile(r"((?:proxy-)?authorization\s*[:=]\s*)[^\r\n]*", re.I), rf"\1{MASK}"),
    (re.compile(r"\b(bearer)\s+[A-Za-z0-9._~+/=-]{6,}", re.I), rf"\1 {MASK}"),
    # key=value, key: value, "key": "value", \"key\": \"value\" (JSON inside a log line)
    (re.compile(rf"""(\\?["']?\b{_KEY}\\?["']?\s*[:=]\s*){_VALUE}""", re.I), rf"\1{MASK}"),
)


def _named_secret(name: str) -> bool:
    return SECRET_NAME.search(name) is not None


def _walk(value: Any, name: str) -> Iterator[str]:
    """Every secret text under ``value`` (a settings model, dict, list …)."""
    if isinstance(value, SecretStr):
        yield value.get_secret_value()
    elif isinstance(value, BaseModel):
        for field in type(value).model_fields:
            if field != "default_credentials":  # the makers' public defaults
                yield from _walk(getattr(value, field), field)
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _walk(item, str(key) if _named_secret(str(key)) else name)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _walk(item, name)
    elif isinstance(value, str) and _named_secret(name):
        yield value


def config_secrets(config: AgentConfig) -> list[str]:
    """Every secret text this board's configuration holds, longest first."""
    found = set(_walk(config, ""))
    # no readable credentials file: nothing of it can be in a log either
    with contextlib.suppress(ConfigError):
        found.add(config.password() or "")
    for url in [config.mqtt_url, *(c.host for c in config.cameras)]:
        try:
            password = urlsplit(url if "//" in url else f"//{url}").password
        except ValueError:
            password = None
        found.add(password or "")
    return sorted((s for s in found if len(s) >= MIN_SECRET_CHARS), key=len, reverse=True)


class Redactor:
    """Redacts text with the three passes (see the module)."""

    def __init__(self, secrets: Iterable[str]) -> None:
        kept = sorted({s for s in secrets if len(s) >= MIN_SECRET_CHARS}, key=len, reverse=True)
        self._secrets = re.compile("|".join(re.escape(s) for s in kept)) if kept else None

    @classmethod
    def for_config(cls, config: AgentConfig) -> Redactor:
        return cls(config_secrets(config))

    def __call__(self, text: str) -> str:
        if self._secrets is not None:
            text = self._secrets.sub(MASK, text)
        text = redact_urls(text)
        for pattern, replacement in _PATTERNS:
            text = pattern.sub(replacement, text)
        if self._secrets is not None:  # what removing text may have joined together
            text = self._secrets.sub(MASK, text)
        return text


def scrub(value: Any, name: str = "") -> Any:
    """A JSON-ready copy of ``value`` (``model_dump(mode="json")`` output)
    with every value under a secret-looking name replaced by ``***``."""
    if isinstance(value, dict):
        return {
            key: MASK if _named_secret(str(key)) and item not in (None, "", [], {}) else scrub(item)
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [scrub(item, name) for item in value]
    return value


__all__ = ["MASK", "Redactor", "config_secrets", "scrub"]
