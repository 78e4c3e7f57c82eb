"""A board whose configuration and logs are full of secrets: what the
diagnostics tests (and the end-to-end test) check never leaves the board."""

from __future__ import annotations

from pathlib import Path
from typing import Any

MQTT_PASSWORD = "Mqtt-Pa55word!"
URL_PASSWORD = "Url-Secret-77"
CAMERA_PASSWORD = "Cam-Secret-42"
#: secrets the board does not know, in the shapes the patterns catch
FOREIGN = ("Bearer-abcdefghijkl", "WifiKey-2026", "tok-1234567", "hunter-two-22", "dXNlcjpwYXNz")
SECRETS = (MQTT_PASSWORD, URL_PASSWORD, CAMERA_PASSWORD, *FOREIGN)

LOG_LINES = [
    "2026-03-02T09:14:40 player: rtsp://operator:Cam-Secret-42@10.20.0.5:554/s1 timeout\n",
    "2026-03-02T09:14:41 agent: broker refused password=Mqtt-Pa55word!\n",
    "2026-03-02T09:14:42 agent: retrying with Mqtt-Pa55word! in 5 s\n",
    "2026-03-02T09:14:43 curl: Authorization: Basic dXNlcjpwYXNz\n",
    "2026-03-02T09:14:44 curl: > Bearer Bearer-abcdefghijkl\n",
    "2026-03-02T09:14:45 hostapd: wpa_passphrase=WifiKey-2026\n",
    '2026-03-02T09:14:46 player: config {"token": "tok-1234567", "volume": 3}\n',
    "2026-03-02T09:14:47 player: login user=op Password: hunter-two-22\n",
    "2026-03-02T09:14:48 agent: mqtts://lc-mlt-01:Url-Secret-77@broker.example:8883 up\n",
    "2026-03-02T09:14:49 agent: nothing secret here, screen on\n",
]


def secret_config(tmp_path: Path, **extra: Any) -> dict[str, Any]:
    """Keyword arguments for ``load_config``: every kind of secret a board has."""
    credentials = tmp_path / "mqtt.secret"
    credentials.write_text(MQTT_PASSWORD + "\n")
    log = tmp_path / "player.log"
    log.write_text("".join(LOG_LINES))
    return {
        "device_id": "lc-mlt-01",
        "spool_path": tmp_path / "spool.db",
        "credentials_file": credentials,
        "cameras": [
            {"id": "gate", "host": "10.20.0.5", "username": "operator", "password": CAMERA_PASSWORD}
        ],
        "diagnostics": {"journal_command": ["tail", "-n", "{lines}", str(log)]},
        **extra,
    }


def leaks(text: str) -> list[str]:
    return [secret for secret in SECRETS if secret in text]
