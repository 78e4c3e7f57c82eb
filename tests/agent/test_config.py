"""Agent configuration: TOML, environment overrides, clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from edge_agent.config import load_config
from edge_agent.errors import ConfigError
from edge_agent.redact import redact

GOOD = """
device_id = "lc-mlt-01"
mqtt_url = "mqtts://broker.example:8883"
spool_path = "/var/lib/fleet/spool.db"

[intervals]
heartbeat = 20

[[cameras]]
id = "cam1"
host = "10.0.0.5"
rtsp_path = "/Streaming/Channels/101"
username = "admin"
password = "secret"
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "agent.toml"
    path.write_text(text)
    return path


def test_file_is_read_with_defaults(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, GOOD))
    assert config.device_id == "lc-mlt-01"
    assert config.intervals.heartbeat == 20
    assert config.intervals.power == 60
    assert config.cameras[0].password is not None
    assert "secret" not in repr(config)  # secrets never printed


def test_environment_overrides_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FLEET_AGENT_DEVICE_ID", "lc-pt-02")
    monkeypatch.setenv("FLEET_AGENT_INTERVALS__HEARTBEAT", "15")
    monkeypatch.setenv("FLEET_AGENT_SPOOL_PATH", "/tmp/x.db")
    config = load_config(write(tmp_path, GOOD))
    assert config.device_id == "lc-pt-02"
    assert config.intervals.heartbeat == 15
    assert config.spool_path == Path("/tmp/x.db")


@pytest.mark.parametrize(
    ("text", "named"),
    [
        (GOOD.replace("heartbeat = 20", "heartbeet = 20"), "intervals.heartbeet"),
        (GOOD.replace("heartbeat = 20", "heartbeat = -1"), "intervals.heartbeat"),
        (GOOD.replace('device_id = "lc-mlt-01"', 'device_id = "a/b"'), "device_id"),
        (GOOD.replace("mqtts://", "http://"), "mqtt_url"),
        (GOOD + '\n[[cameras]]\nid = "cam1"\nhost = "10.0.0.6"\n', "cameras"),
        ("device_id = ", "not valid TOML"),
    ],
)
def test_bad_configuration_names_the_key_and_the_file(
    tmp_path: Path, text: str, named: str
) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert named in str(info.value)
    assert str(path) in str(info.value)


def test_missing_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(tmp_path / "nope.toml")


def test_missing_device_id(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="device_id"):
        load_config(write(tmp_path, "[intervals]\nheartbeat = 10\n"))


def test_credentials_file_is_read(tmp_path: Path) -> None:
    secret = tmp_path / "password"
    secret.write_text("s3cret\n")
    config = load_config(write(tmp_path, GOOD), credentials_file=secret)
    assert config.password() == "s3cret"
    with pytest.raises(ConfigError, match="cannot read credentials_file"):
        load_config(write(tmp_path, GOOD), credentials_file=tmp_path / "none").password()


@pytest.mark.parametrize(
    ("text", "clean"),
    [
        ("rtsp://admin:secret@10.0.0.5/s", "rtsp://10.0.0.5/s"),
        ("probe rtsp://admin@10.0.0.5:554/x failed", "probe rtsp://10.0.0.5:554/x failed"),
        ("http://10.0.0.5/onvif", "http://10.0.0.5/onvif"),
    ],
)
def test_redact(text: str, clean: str) -> None:
    assert redact(text) == clean


def test_environment_lists_and_unknown_keys(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD)
    config = load_config(
        path,
        environ={
            "FLEET_AGENT_NETWORK__TARGETS": '["10.0.0.1", "b:443"]',
            "FLEET_AGENT_CONFIG": "/ignored",
        },
    )
    assert config.network.targets == ["10.0.0.1", "b:443"]
    with pytest.raises(ConfigError, match=r"intervals\.heartbeet"):
        load_config(path, environ={"FLEET_AGENT_INTERVALS__HEARTBEET": "5"})
    with pytest.raises(ConfigError, match="FLEET_AGENT_NETWORK__TARGETS: not valid JSON"):
        load_config(path, environ={"FLEET_AGENT_NETWORK__TARGETS": "[oops"})
