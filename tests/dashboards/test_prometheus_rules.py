"""The Prometheus scrape configuration and the platform's alert rules
(dashboards/prometheus) pass promtool's checks and their unit tests."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.support.metrics import DOC, documented

PROMETHEUS = Path(__file__).resolve().parents[2] / "dashboards" / "prometheus"
RULES = sorted((PROMETHEUS / "rules").glob("*.yml"))
RULE_TESTS = sorted((PROMETHEUS / "tests").glob("*.yml"))
TOKEN_FILE = "/run/secrets/fleet_metrics_token"  # written by the compose service


def promtool(*args: str, cwd: Path = PROMETHEUS) -> str:
    binary = shutil.which("promtool")
    if binary is None:
        pytest.skip(
            "promtool is not on PATH (Debian package 'prometheus'; ./scripts/dev test installs it)"
        )
    done = subprocess.run(
        [binary, *args], cwd=cwd, capture_output=True, text=True, timeout=120, check=False
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    return output


def alerts() -> list[str]:
    return [m for path in RULES for m in re.findall(r"- alert: (\w+)", path.read_text())]


def test_the_scrape_configuration_is_valid(tmp_path: Path) -> None:
    # promtool requires the bearer token file to exist: a copy of the
    # configuration points at one here instead of the container's.
    text = (PROMETHEUS / "prometheus.yml").read_text(encoding="utf-8")
    assert text.count(f"credentials_file: {TOKEN_FILE}") == 3  # api, ingest, engine
    token = tmp_path / "fleet_metrics_token"
    token.write_text("a-token-of-twenty-four-c\n")
    (tmp_path / "prometheus.yml").write_text(text.replace(TOKEN_FILE, str(token)))
    shutil.copytree(PROMETHEUS / "rules", tmp_path / "rules")
    output = promtool("check", "config", "prometheus.yml", cwd=tmp_path)
    assert f"{len(RULES)} rule files found" in output


def test_the_rules_are_valid() -> None:
    assert RULES
    output = promtool("check", "rules", *(str(p.relative_to(PROMETHEUS)) for p in RULES))
    assert f"{len(alerts())} rules found" in output


def test_the_rules_pass_their_unit_tests() -> None:
    assert RULE_TESTS
    promtool("test", "rules", *(str(p.relative_to(PROMETHEUS)) for p in RULE_TESTS))


def test_every_alert_is_tested_firing_and_documented() -> None:
    tests = "\n".join(p.read_text() for p in RULE_TESTS)
    doc = DOC.read_text()
    for alert in alerts():
        # at least one expectation of this alert that lists an alert, i.e. fires
        firing = re.search(rf"alertname: {alert}\n\s+exp_alerts:\n\s+- exp_labels:", tests)
        assert firing, f"no unit test sees {alert} fire"
        assert f"`{alert}`" in doc, f"docs/metrics.md does not describe {alert}"


def test_the_rules_use_documented_families_only() -> None:
    known = set(documented())
    for path in RULES:
        for name in set(re.findall(r"\bfleet_[a-z_]+", path.read_text())):
            family = re.sub(r"_(bucket|count|sum)$", "", name)
            assert family in known, f"{path.name} uses {name}, not in docs/metrics.md"
