"""Server settings from ``FLEET_*`` environment variables (pydantic-settings).

Nothing is read at import time: ``Settings()`` reads the environment when it
is built, and tests build it directly with keyword arguments.

Longer than 400 lines: one flat list of every ``FLEET_*`` variable of every
role, each with its bounds and description, as pydantic-settings reads them.
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Literal
from urllib.parse import unquote, urlsplit

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

if TYPE_CHECKING:
    from fleet_server.compliance.models import ComplianceSettings
    from fleet_server.notifications.channels.settings import (
        SmsSettings,
        TelegramSettings,
        ZaloSettings,
    )
    from fleet_server.notifications.models import NotificationSettings

from fleet_server.errors import ConfigError


@dataclass(frozen=True, slots=True)
class MqttEndpoint:
    """A broker address parsed from ``mqtt://user:password@host:port``."""

    host: str
    port: int
    tls: bool
    username: str | None
    password: str | None

    @classmethod
    def parse(cls, url: str) -> MqttEndpoint:
        parts = urlsplit(url)
        if parts.scheme not in ("mqtt", "mqtts"):
            raise ConfigError(f"MQTT URL must start with mqtt:// or mqtts://, got {parts.scheme!r}")
        if not parts.hostname:
            raise ConfigError("MQTT URL has no host")
        tls = parts.scheme == "mqtts"
        try:
            port = parts.port or (8883 if tls else 1883)
        except ValueError as exc:
            raise ConfigError(f"MQTT URL has a bad port: {exc}") from exc
        return cls(
            host=parts.hostname,
            port=port,
            tls=tls,
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
        )

    def redacted(self) -> str:
        user = f"{self.username}:***@" if self.username else ""
        return f"{'mqtts' if self.tls else 'mqtt'}://{user}{self.host}:{self.port}"


def _default_client_id() -> str:
    return f"fleet-ingest-{socket.gethostname()}"[:64]


def _default_command_client_id() -> str:
    return f"fleet-api-{socket.gethostname()}"[:50]


class Settings(BaseSettings):
    """Everything the server roles need. See README "Configuration"."""

    model_config = SettingsConfigDict(env_prefix="FLEET_", extra="ignore")

    environment: Literal["development", "production"] = "development"
    database_url: str = Field(
        default="postgresql://postgres@127.0.0.1:5432/fleet",
        description="PostgreSQL URL (libpq form).",
    )
    database_owner_url: str | None = Field(
        default=None,
        description="PostgreSQL URL of the schema owner, for `fleet-server migrate` only; "
        "set, the user of FLEET_DATABASE_URL is the application role migrate creates and "
        "grants (docs/deployment.md). Unset: migrate runs as FLEET_DATABASE_URL.",
    )
    database_pool_size: int = Field(default=4, ge=1, le=100)
    db_jit: bool = Field(
        default=False,
        description="false: every connection of the fleet server sets jit=off (JIT "
        "compilation cost seconds on plans of milliseconds, docs/deployment.md); true: "
        "the server's own setting applies.",
    )
    mqtt_url: str = "mqtt://127.0.0.1:1883"
    mqtt_ca_file: str | None = None
    mqtt_client_cert: str | None = None
    mqtt_client_key: str | None = None
    mqtt_protocol: Literal["auto", "5", "3.1.1"] = "auto"

    # ingest
    ingest_client_id: str = Field(default_factory=_default_client_id, max_length=64)
    ingest_shared_group: str | None = Field(default="fleet-ingest", pattern=r"^[A-Za-z0-9_-]+$")
    ingest_session_expiry_s: int = Field(default=86_400, ge=0)
    ingest_receive_maximum: int = Field(default=2_000, ge=1, le=65_535)
    ingest_batch_size: int = Field(default=2_000, ge=1, le=50_000)
    ingest_batch_delay_ms: int = Field(default=20, ge=0, le=5_000)
    ingest_max_payload_bytes: int = Field(default=16 * 1024, ge=256, le=1024 * 1024)
    ingest_dead_letter_keep_bytes: int = Field(default=4096, ge=0, le=1024 * 1024)
    ingest_retry_max_s: float = Field(default=10.0, gt=0)
    ingest_require_known_board: bool | None = Field(
        default=None,
        description="Dead-letter messages of boards that are not in the database "
        "(unknown_board); unset: on in production, off in development.",
    )
    ingest_board_refresh_s: float = Field(default=60.0, gt=0, le=3600)
    # reliability (docs/reliability.md)
    ingest_clock_past_s: float = Field(
        default=400 * 86_400,
        gt=0,
        description="oldest measured_at/sent_at accepted, seconds before the receiving time",
    )
    ingest_clock_future_s: float = Field(
        default=86_400,
        gt=0,
        description="newest measured_at/sent_at accepted, seconds after the receiving time",
    )
    ingest_receipts: bool = Field(
        default=True,
        description="publish end-to-end delivery receipts (fleet/v1/<id>/receipt) after commit",
    )
    ingest_receipt_every_s: int = Field(
        default=300,
        ge=0,
        le=900,
        description="hold the receipts of a compact board's batched messages up to this long "
        "(0: a receipt after each commit); told to the board in its capabilities",
    )
    ingest_receipt_hold_max: int = Field(
        default=100,
        ge=1,
        le=1000,
        description="send a compact board's held receipts at once when this many messages wait",
    )
    ingest_reconnect_min_s: float = Field(default=0.1, gt=0, le=60)
    ingest_reconnect_max_s: float = Field(default=2.0, gt=0, le=300)
    ingest_keepalive_s: int = Field(
        default=30, ge=1, le=600, description="MQTT keepalive of ingest's broker connection"
    )
    ingest_dead_letter_board_per_minute: int = Field(
        default=60,
        ge=1,
        description="dead letters stored in full per board and minute; beyond, counted only",
    )

    # Prometheus /metrics of the ingest and engine processes (docs/metrics.md);
    # the API serves its own on FLEET_API_PORT.
    metrics_host: str = Field(
        default="127.0.0.1", description="address the ingest and engine metrics listen on"
    )
    ingest_metrics_port: int = Field(
        default=0, ge=0, le=65_535, description="an ingest process's /metrics port (9101); 0: off"
    )
    engine_metrics_port: int = Field(
        default=0, ge=0, le=65_535, description="the engine process's /metrics port (9102); 0: off"
    )
    metrics_token: SecretStr | None = Field(
        default=None,
        description="bearer token every /metrics request must carry (>= 16 characters); "
        "unset: the API's /metrics answers this machine only and FLEET_METRICS_HOST must "
        "be a loopback address (fleet_server/metrics/access.py)",
    )

    # provisioning (docs/provisioning.md)
    broker_admin_url: str | None = Field(
        default=None,
        description="mqtts://fleet-admin:<password>@host:8883, the dynamic-security admin "
        "account; unset: provisioning is not available.",
    )
    broker_ca_file: str | None = Field(
        default=None,
        description="CA certificate the broker's TLS certificate is checked against and "
        "boards are given; default FLEET_MQTT_CA_FILE, or the provisioning CA's.",
    )
    provisioning_ca_dir: str | None = Field(
        default=None, description="the provisioning CA directory (certificate boards)"
    )
    provisioning_mqtt_url: str | None = Field(
        default=None,
        description="broker address written into a password board's agent.toml; default: "
        "the host and port of FLEET_BROKER_ADMIN_URL",
    )
    provisioning_mqtt_cert_url: str | None = Field(
        default=None,
        description="broker address (mutual-TLS listener) for certificate boards; default: "
        "the host of FLEET_BROKER_ADMIN_URL, port 8884",
    )

    # broadcast compliance (engine role; docs/compliance.md)
    compliance_morning_minutes: float = Field(default=180.0, ge=0, le=720)
    compliance_afternoon_minutes: float = Field(default=180.0, ge=0, le=720)
    compliance_sample_gap_s: float = Field(default=120.0, ge=5, le=3600)
    compliance_report_hour: int = Field(default=7, ge=0, le=23)
    compliance_today_every_s: float = Field(default=900.0, ge=10, le=86_400)
    compliance_every_s: float = Field(default=60.0, ge=1, le=3600)

    # the report deadlines of Điều 14 (engine role; docs/reports.md)
    report_reminder_days: int = Field(
        default=7,
        ge=0,
        le=60,
        description="remind this many days before 15/12 (Điều 14.1) and 20/12 (14.2); 0: never",
    )
    compliance_advertising_ceiling_percent: float = Field(
        default=10.0,
        ge=0,
        le=100,
        description="Điều 8.3: the most approved advertising may take of a board's minutes on "
        "air in a local day, in percent; a day over it raises a compliance incident",
    )
    compliance_advertising_ceiling_overrides: str = Field(
        default="",
        max_length=20_000,
        description="per organisation or site, e.g. 'organisation:bql-kkt=15,site:ma-lu-thang=5'"
        " (a site's own ceiling wins over its organisation's)",
    )

    # notifications (engine role)
    smtp_host: str = "127.0.0.1"
    smtp_port: int = Field(default=587, ge=1, le=65535)
    smtp_security: Literal["none", "starttls", "ssl"] = "starttls"
    smtp_username: str | None = None
    smtp_password: str | None = None
    smtp_from: str = "canh-bao@localhost"
    notify_group_window_s: float = Field(default=60.0, ge=0)
    notify_webhook_timeout_s: float = Field(default=10.0, gt=0)
    notify_poll_interval_s: float = Field(default=1.0, gt=0)
    notify_sending_lease_s: float = Field(
        default=30.0,
        gt=0,
        description="a notice claimed longer ago than this by a worker that died is taken back",
    )
    # channels beside e-mail and webhook (docs/notifications.md "Channels"); secrets only here
    notify_confirm_timeout_s: float = Field(
        default=300.0,
        gt=0,
        le=86_400,
        description="an SMS accepted but not reported delivered this long after goes to the "
        "contact's next channel",
    )
    notify_fallback_after_attempts: int = Field(default=3, ge=1, le=100)
    telegram_bot_token: SecretStr | None = None
    telegram_api_base: str = "https://api.telegram.org"
    sms_gateway_url: str | None = Field(default=None, max_length=500)
    sms_api_key: SecretStr | None = None
    sms_sender: str = Field(default="LAICHAU", max_length=11, description="brandname, ≤ 11")
    sms_strip_diacritics: bool = True
    sms_max_segments: int = Field(default=3, ge=1, le=10)
    sms_callback_secret: SecretStr | None = None
    zalo_access_token: SecretStr | None = None
    zalo_template_id: str | None = Field(default=None, max_length=20)
    zalo_api_base: str = "https://business.openapi.zalo.me"
    console_base_url: str | None = Field(
        default=None,
        max_length=500,
        description="where people open the web console (https://bangtin.laichau.gov.vn): each "
        "notice ends with a link to its incident or ticket page; unset: no link",
    )
    ticket_due_soon_h: float = Field(
        default=4.0,
        gt=0,
        le=720,
        description="a ticket's assignee and routes hear this many hours before it is due",
    )
    ticket_escalate_after_h: float = Field(
        default=24.0,
        gt=0,
        le=8760,
        description="a ticket still unfinished this many hours after its due time is escalated "
        "(the escalation routes hear of it)",
    )

    # api (web console and REST API)
    api_host: str = "127.0.0.1"
    api_port: int = Field(default=8080, ge=1, le=65535)
    api_token_ttl_s: int = Field(default=900, ge=60, le=86_400)
    api_session_ttl_s: int = Field(default=8 * 3600, ge=300, le=7 * 86_400)
    api_session_idle_s: int = Field(default=3600, ge=60, le=86_400)
    api_lockout_failures: int = Field(default=5, ge=1, le=100)
    api_lockout_s: int = Field(default=900, ge=1, le=86_400)
    api_address_failures: int = Field(default=20, ge=1, le=10_000)
    api_address_window_s: int = Field(default=900, ge=1, le=86_400)
    api_cookie_secure: bool | None = Field(
        default=None,
        description="Secure flag on the session cookie; default: on in production "
        "and whenever the request arrived over HTTPS.",
    )
    api_pool_size: int = Field(default=8, ge=1, le=100)
    api_switch_interval_ms: float = Field(
        default=1.0,
        ge=0.1,
        le=100,
        description="the GIL's switch interval in an API process (fleet_server/api/interpreter.py)",
    )
    api_gc_settle_s: float = Field(
        default=120.0,
        ge=0,
        le=86_400,
        description="after this long an API process collects once and freezes what survives "
        "(fleet_server/api/interpreter.py); 0: never",
    )
    api_trusted_proxies: Annotated[tuple[str, ...], NoDecode] = Field(
        default=(),
        description="addresses or CIDR blocks of the reverse proxies whose X-Forwarded-For "
        "is believed (comma-separated); default none: the TCP peer is the client",
    )

    # photos attached to incidents (Điều 9.3; docs/incidents.md): bytes each, per incident
    incident_photo_max_bytes: int = Field(default=5 * 1024 * 1024, ge=1024, le=50 * 1024 * 1024)
    incident_photos_max: int = Field(default=6, ge=0, le=50)

    # remote commands (published by the API process; docs/commands.md)
    command_client_id: str = Field(
        default_factory=_default_command_client_id,
        max_length=50,
        description="MQTT client id prefix of the API's command publisher (the pid is added).",
    )
    command_expires_s: int = Field(default=300, ge=1, le=7 * 86_400)
    command_expires_min_s: int = Field(default=5, ge=1, le=3600)
    command_expires_max_s: int = Field(default=86_400, ge=1, le=7 * 86_400)
    command_publish_timeout_s: float = Field(default=2.0, gt=0, le=60)
    command_retry_interval_s: float = Field(default=5.0, gt=0, le=3600)

    # the broadcast file archive (Điều 9.1; docs/content.md "Broadcast file archive")
    data_dir: str = Field(
        default="/var/lib/fleet-server",
        description="the server's data directory (content files by default)",
    )
    content_files_backend: Literal["local", "s3"] = "local"
    content_files_dir: str | None = Field(
        default=None,
        description="root of the local file store; default <FLEET_DATA_DIR>/content-files",
    )
    content_files_max_bytes: int = Field(default=2 * 1024**3, ge=1024, le=1024**4)
    content_files_keep_days: int = Field(
        default=5 * 365 + 1,
        description="days a file nothing refers to any more is kept; at least as long as the "
        "play log (1826 days), which is more than Điều 10.1.a's six months",
    )
    snapshot_keep_days: int = Field(
        default=30,
        ge=1,
        le=3660,
        description="days the boards' screen and camera pictures are kept (each board's newest"
        " picture of each screen and camera is kept whatever its age)",
    )
    log_bundle_keep_days: int = Field(
        default=30,
        ge=1,
        le=3660,
        description="days the boards' log and diagnostics bundles (collect_logs) are kept",
    )
    data_budget_mb: int | None = Field(
        default=None,
        ge=1,
        le=1_000_000_000,
        description="every board's monthly 4G data budget in MB (10^6 bytes) where neither the"
        " board nor its site has one (docs/data-budget.md); unset: none",
    )
    data_budget_agent_version: str | None = Field(
        default=None,
        pattern=r"^[0-9A-Za-z][0-9A-Za-z.+~-]{0,31}$",
        description="the first agent version that reads data_budget: boards whose agent says"
        " this version or a later one are told their budget before they report 4G data usage"
        " (docs/data-budget.md); unset: only boards that report usage",
    )
    data_usage_keep_days: int = Field(
        default=400,
        ge=62,
        le=3660,
        description="days each board's daily 4G data usage (board_data_usage) is kept",
    )
    content_files_s3_endpoint: str | None = Field(
        default=None, description="https://host[:port] of the S3-compatible service"
    )
    content_files_s3_bucket: str | None = None
    content_files_s3_region: str = "us-east-1"
    content_files_s3_prefix: str = Field(
        default="", max_length=200, pattern=r"^([A-Za-z0-9._-]+/)*$"
    )
    content_files_s3_access_key: str | None = None
    content_files_s3_secret_key: SecretStr | None = None

    # agent releases and rollouts (docs/updates.md)
    release_public_keys: str = Field(
        default="",
        description="trusted release signing keys, key_id:base64 of the raw Ed25519 public key,"
        " comma-separated (public keys only: the private key never sits on this server)",
    )
    releases_dir: str | None = Field(
        default=None,
        description="published agent artifacts (public files); default <FLEET_DATA_DIR>/releases",
    )
    releases_base_url: str | None = Field(
        default=None,
        description="where boards download artifacts: <url>/<artifact file>; default"
        " <FLEET_CONSOLE_BASE_URL>/api/v1/releases/files (any static file server works)",
    )
    rollout_every_s: float = Field(default=5.0, gt=0, le=3600)
    rollout_command_expires_s: int = Field(
        default=3600, ge=60, le=7 * 86_400, description="an update command's expiry"
    )
    rollout_window_margin_s: int = Field(
        default=900,
        ge=0,
        le=86_400,
        description="no update starts this close before a broadcast window",
    )

    @field_validator("database_url", "database_owner_url")
    @classmethod
    def _check_database_url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("postgresql://", "postgres://")):
            raise ValueError(
                "FLEET_DATABASE_URL and FLEET_DATABASE_OWNER_URL must be postgresql:// URLs"
            )
        return value

    @field_validator("api_trusted_proxies", mode="before")
    @classmethod
    def _check_trusted_proxies(cls, value: object) -> tuple[str, ...]:
        entries = value.replace(",", " ").split() if isinstance(value, str) else value
        if not isinstance(entries, list | tuple):
            raise ValueError("FLEET_API_TRUSTED_PROXIES: addresses or CIDR blocks, comma-separated")
        try:
            return tuple(str(ipaddress.ip_network(str(e), strict=False)) for e in entries)
        except ValueError as exc:
            raise ValueError(f"FLEET_API_TRUSTED_PROXIES: {exc}") from None

    @field_validator(
        "mqtt_url", "broker_admin_url", "provisioning_mqtt_url", "provisioning_mqtt_cert_url"
    )
    @classmethod
    def _check_mqtt_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            MqttEndpoint.parse(value)
        except ConfigError as exc:
            raise ValueError(str(exc)) from None
        return value

    @field_validator("compliance_advertising_ceiling_overrides")
    @classmethod
    def _check_advertising_ceilings(cls, value: str) -> str:
        from fleet_server.compliance.models import parse_ceilings  # noqa: PLC0415

        try:
            parse_ceilings(value)
        except ConfigError as exc:
            raise ValueError(f"FLEET_COMPLIANCE_ADVERTISING_CEILING_OVERRIDES: {exc}") from None
        return value

    @field_validator("release_public_keys")
    @classmethod
    def _check_release_public_keys(cls, value: str) -> str:
        from fleet_server.releases.models import parse_public_keys  # noqa: PLC0415

        try:
            parse_public_keys(value)
        except ConfigError as exc:
            raise ValueError(str(exc)) from None
        return value

    @field_validator("releases_base_url")
    @classmethod
    def _check_releases_base_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname or "@" in parts.netloc:
            raise ValueError(
                "FLEET_RELEASES_BASE_URL must be an http(s) URL without credentials (boards"
                " download <url>/<artifact>)"
            )
        return value

    @field_validator("content_files_keep_days")
    @classmethod
    def _check_content_files_keep_days(cls, value: int) -> int:
        from fleet_server.telemetry.storage_upkeep import ROLLUP_DAYS  # noqa: PLC0415

        if value < ROLLUP_DAYS:
            raise ValueError(
                f"FLEET_CONTENT_FILES_KEEP_DAYS: files are kept at least as long as the play"
                f" log ({ROLLUP_DAYS} days)"
            )
        return value

    @model_validator(mode="after")
    def _check_content_files_s3(self) -> Settings:
        if self.content_files_backend == "s3" and not (
            self.content_files_s3_endpoint
            and self.content_files_s3_bucket
            and self.content_files_s3_access_key
            and self.content_files_s3_secret_key
        ):
            raise ValueError(
                "FLEET_CONTENT_FILES_BACKEND=s3 needs FLEET_CONTENT_FILES_S3_ENDPOINT, _BUCKET,"
                " _ACCESS_KEY and _SECRET_KEY"
            )
        return self

    @model_validator(mode="after")
    def _check_command_expiry(self) -> Settings:
        if not (self.command_expires_min_s <= self.command_expires_s <= self.command_expires_max_s):
            raise ValueError(
                "FLEET_COMMAND_EXPIRES_S must lie between FLEET_COMMAND_EXPIRES_MIN_S"
                " and FLEET_COMMAND_EXPIRES_MAX_S"
            )
        return self

    @property
    def mqtt(self) -> MqttEndpoint:
        return MqttEndpoint.parse(self.mqtt_url)

    @property
    def require_known_board(self) -> bool:
        """Whether ingest dead-letters messages of boards not in the database."""
        if self.ingest_require_known_board is None:
            return self.environment == "production"
        return self.ingest_require_known_board

    def compliance_settings(self) -> ComplianceSettings:
        from fleet_server.compliance.models import (  # noqa: PLC0415
            ComplianceSettings,
            parse_ceilings,
        )

        return ComplianceSettings(
            morning_minutes=self.compliance_morning_minutes,
            afternoon_minutes=self.compliance_afternoon_minutes,
            sample_gap_s=self.compliance_sample_gap_s,
            report_hour=self.compliance_report_hour,
            today_every_s=self.compliance_today_every_s,
            every_s=self.compliance_every_s,
            advertising_ceiling_percent=self.compliance_advertising_ceiling_percent,
            advertising_ceilings=parse_ceilings(self.compliance_advertising_ceiling_overrides),
        )

    def notification_settings(self) -> NotificationSettings:
        from fleet_server.notifications.models import (  # noqa: PLC0415 - only the engine needs it
            NotificationSettings,
            SmtpSettings,
        )

        smtp = SmtpSettings(
            from_address=self.smtp_from,
            host=self.smtp_host,
            port=self.smtp_port,
            security=self.smtp_security,
            username=self.smtp_username,
            password=self.smtp_password,
        )
        telegram, sms, zalo = self._channel_settings()
        return NotificationSettings(
            smtp=smtp,
            webhook_timeout_s=self.notify_webhook_timeout_s,
            group_window_s=self.notify_group_window_s,
            poll_interval_s=self.notify_poll_interval_s,
            sending_lease_s=self.notify_sending_lease_s,
            console_base_url=self.console_base_url,
            confirm_timeout_s=self.notify_confirm_timeout_s,
            fallback_after_attempts=self.notify_fallback_after_attempts,
            telegram=telegram,
            sms=sms,
            zalo=zalo,
        )

    def _channel_settings(
        self,
    ) -> tuple[TelegramSettings | None, SmsSettings | None, ZaloSettings | None]:
        """Telegram, SMS and Zalo settings (None: the channel is not configured)."""
        from fleet_server.notifications.channels import settings as ch  # noqa: PLC0415

        telegram = sms = zalo = None
        if self.telegram_bot_token is not None:
            telegram = ch.TelegramSettings(self.telegram_bot_token, api_base=self.telegram_api_base)
        if self.sms_gateway_url is not None:
            if self.sms_api_key is None:
                raise ConfigError("FLEET_SMS_GATEWAY_URL needs FLEET_SMS_API_KEY")
            sms = ch.SmsSettings(
                self.sms_gateway_url,
                self.sms_api_key,
                sender=self.sms_sender,
                strip_diacritics=self.sms_strip_diacritics,
                max_segments=self.sms_max_segments,
                callback_secret=self.sms_callback_secret,
            )
        if self.zalo_access_token is not None:
            if self.zalo_template_id is None:
                raise ConfigError("FLEET_ZALO_ACCESS_TOKEN needs FLEET_ZALO_TEMPLATE_ID")
            zalo = ch.ZaloSettings(
                self.zalo_access_token, self.zalo_template_id, api_base=self.zalo_api_base
            )
        return telegram, sms, zalo

    def check_production(self) -> None:
        """Refuse settings that are only acceptable on a developer's machine."""
        if self.environment != "production":
            return
        endpoint = self.mqtt
        if not endpoint.tls:
            raise ConfigError("production requires mqtts:// (TLS) for FLEET_MQTT_URL")
        if not endpoint.username or not endpoint.password:
            raise ConfigError("production requires MQTT credentials in FLEET_MQTT_URL")
        if endpoint.password.lower() in {"changeme", "change-me", "password", "secret"}:
            raise ConfigError("FLEET_MQTT_URL carries a placeholder password")
        if self.broker_admin_url is not None and not MqttEndpoint.parse(self.broker_admin_url).tls:
            raise ConfigError("production requires mqtts:// (TLS) for FLEET_BROKER_ADMIN_URL")
