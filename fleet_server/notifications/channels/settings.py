"""Settings of the Telegram, SMS and Zalo channels, built from ``FLEET_*``
variables by ``Settings.notification_settings``; tests build them directly.

Tokens and keys are ``SecretStr``: their ``repr`` and ``str`` are masked, so a
settings object printed in a log or an error shows ``**********``.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from pydantic import SecretStr

from fleet_server.errors import ConfigError

#: A brandname (sender name) is at most 11 characters: letters, digits,
#: space, dot and hyphen (the operators' rule for alphanumeric senders).
BRANDNAME_MAX = 11


def _check_base_url(name: str, url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"{name} must be an http(s) URL with a host, not {url!r}")
    return url.rstrip("/")


def check_brandname(sender: str) -> str:
    """The sender name a brandname gateway shows: ≤ 11 ASCII letters, digits,
    spaces, dots or hyphens (no diacritics: handsets show the name as is)."""
    if not 1 <= len(sender) <= BRANDNAME_MAX:
        raise ConfigError(f"the SMS sender name must be 1 to {BRANDNAME_MAX} characters")
    if not all(c.isascii() and (c.isalnum() or c in " .-") for c in sender):
        raise ConfigError(
            "the SMS sender name may hold only ASCII letters, digits, spaces, dots and hyphens"
        )
    return sender


def _check_timeout(name: str, value: float) -> None:
    if value <= 0:
        raise ConfigError(f"{name} timeout must be positive")


@dataclass(frozen=True, slots=True)
class TelegramSettings:
    bot_token: SecretStr
    api_base: str = "https://api.telegram.org"
    parse_mode: str | None = "HTML"  # the subject in bold, the rest escaped; None: plain text
    timeout_s: float = 10.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "api_base", _check_base_url("Telegram API base", self.api_base))
        if not self.bot_token.get_secret_value():
            raise ConfigError("the Telegram bot token is empty")
        _check_timeout("Telegram", self.timeout_s)


@dataclass(frozen=True, slots=True)
class SmsSettings:
    gateway_url: str
    api_key: SecretStr
    sender: str = "LAICHAU"
    #: send text without Vietnamese diacritics (plain GSM 7-bit: 160 characters
    #: a segment, cheaper, shown on every handset)
    strip_diacritics: bool = True
    max_segments: int = 3
    #: the secret the gateway sends with its delivery reports
    callback_secret: SecretStr | None = None
    timeout_s: float = 10.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "gateway_url", _check_base_url("SMS gateway", self.gateway_url))
        check_brandname(self.sender)
        if not self.api_key.get_secret_value():
            raise ConfigError("the SMS gateway key is empty")
        if not 1 <= self.max_segments <= 10:
            raise ConfigError("SMS max segments must be 1 to 10")
        if self.callback_secret is not None and len(self.callback_secret.get_secret_value()) < 16:
            raise ConfigError("the SMS callback secret must be at least 16 characters")
        _check_timeout("SMS gateway", self.timeout_s)


@dataclass(frozen=True, slots=True)
class ZaloSettings:
    access_token: SecretStr
    #: the ZNS template every notice is sent with (approved by Zalo beforehand)
    template_id: str
    api_base: str = "https://business.openapi.zalo.me"
    timeout_s: float = 10.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "api_base", _check_base_url("Zalo API base", self.api_base))
        if not self.access_token.get_secret_value():
            raise ConfigError("the Zalo access token is empty")
        if not self.template_id.isdigit() or len(self.template_id) > 20:
            raise ConfigError("the Zalo ZNS template id is a number of up to 20 digits")
        _check_timeout("Zalo", self.timeout_s)
