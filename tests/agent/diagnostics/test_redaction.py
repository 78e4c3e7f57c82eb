"""Redaction before anything leaves the board: the board's own secrets,
credentials in URLs and the common shapes of others; the configuration's
secrets in a report."""

from __future__ import annotations

import json
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from edge_agent.config import load_config
from edge_agent.diagnostics.redaction import MASK, Redactor, config_secrets, scrub
from tests.agent.diagnostics.secrets import (
    CAMERA_PASSWORD,
    LOG_LINES,
    MQTT_PASSWORD,
    URL_PASSWORD,
    leaks,
    secret_config,
)

URL = f"mqtt://lc-mlt-01:{URL_PASSWORD}@127.0.0.1:9"


def test_the_boards_own_secrets_are_found(tmp_path: Path) -> None:
    config = load_config(None, **secret_config(tmp_path, mqtt_url=URL))
    found = config_secrets(config)
    assert {MQTT_PASSWORD, URL_PASSWORD, CAMERA_PASSWORD} <= set(found)
    # the makers' default accounts are public, and would match everywhere
    assert "admin" not in found
    assert "12345" not in found


def test_no_secret_survives_in_log_lines(tmp_path: Path) -> None:
    redact = Redactor.for_config(load_config(None, **secret_config(tmp_path, mqtt_url=URL)))
    text = "".join(redact(line) for line in LOG_LINES)
    assert leaks(text) == []
    assert "10.20.0.5:554/s1 timeout" in text  # what the technician needs stays
    assert "nothing secret here, screen on" in text
    assert text.count(MASK) == 7  # the two URLs lose their user and password


def test_json_inside_a_log_line_is_redacted() -> None:
    redact = Redactor([])
    assert redact('{\\"password\\": \\"a b c\\"}') == '{\\"password\\": ***}'
    assert redact("GET /feed?token=abc123&page=2") == "GET /feed?token=***&page=2"
    assert redact("802-11-wireless-security.psk: WifiKey") == "802-11-wireless-security.psk: ***"


def test_a_report_keeps_no_secret_of_the_configuration(tmp_path: Path) -> None:
    config = load_config(None, **secret_config(tmp_path, mqtt_url=URL))
    dumped = scrub(config.model_dump(mode="json"))
    redact = Redactor.for_config(config)
    text = redact(json.dumps(dumped))
    assert leaks(text) == []
    assert dumped["cameras"][0]["password"] == MASK
    assert dumped["cameras"][0]["host"] == "10.20.0.5"


@settings(max_examples=200, deadline=None, derandomize=True)
@given(
    secret=st.text(
        alphabet=st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")),
        min_size=4,
        max_size=40,
    ),
    before=st.text(max_size=40),
    after=st.text(max_size=40),
)
def test_a_known_secret_never_survives_wherever_it_is(secret: str, before: str, after: str) -> None:
    redacted = Redactor([secret])(before + secret + after)
    assert secret not in redacted


@settings(max_examples=200, deadline=None, derandomize=True)
@given(
    key=st.sampled_from(["password", "PASSWD", "api_key", "token", "wifi.psk", "client_secret"]),
    separator=st.sampled_from(["=", ": ", " = ", ":"]),
    value=st.text(
        alphabet=st.characters(
            codec="utf-8",
            exclude_categories=("Cs", "Cc", "Zs", "Zl", "Zp"),
            exclude_characters="\"',;&}\\",
        ),
        min_size=1,
        max_size=30,
    ),
)
def test_an_unknown_secret_after_its_name_never_survives(
    key: str, separator: str, value: str
) -> None:
    assert Redactor([])(f"{key}{separator}{value} next") == f"{key}{separator}{MASK} next"
