"""``fleet-server dashboards push`` against a real HTTP server speaking enough of
Grafana's API (tests/support/grafana.py): the calls it makes, idempotence,
and the errors a person sees."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from fleet_server.cli import main
from fleet_server.dashboards.push import DashboardPushError, load_dashboards
from tests.support.grafana import FakeGrafana, Request, WebPage
from tests.support.ports import free_port

REPO = Path(__file__).resolve().parents[3]
FIXTURES = REPO / "tests" / "fixtures" / "grafana"
TOKEN = "glsa_test_token_0123456789"  # the fake Grafana's own
PG_URL = "postgresql://grafana_reader:r%40ader-pw@timescaledb:5432/fleet?sslmode=disable"
PROM_URL = "http://prometheus:9090"


@pytest.fixture
def grafana() -> Iterator[FakeGrafana]:
    with FakeGrafana(TOKEN) as server:
        yield server


@pytest.fixture
def dashboards(tmp_path: Path) -> Path:
    target = tmp_path / "dashboards"
    shutil.copytree(FIXTURES, target)
    return target


def push(grafana_url: str, directory: Path, *extra: str, token: str = TOKEN) -> int:
    return main(
        [
            "dashboards",
            "push",
            "--grafana-url",
            grafana_url,
            "--token",
            token,
            "--dir",
            str(directory),
            "--postgres-url",
            PG_URL,
            "--prometheus-url",
            PROM_URL,
            *extra,
        ]
    )


def calls(requests: list[Request]) -> list[tuple[str, str]]:
    return [(r.method, r.path) for r in requests]


def test_first_push_creates_folder_datasources_and_dashboards(
    grafana: FakeGrafana, dashboards: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert push(grafana.url, dashboards) == 0

    state = grafana.state
    assert all(r.authorization == f"Bearer {TOKEN}" for r in state.requests)
    assert calls(state.requests) == [
        ("GET", "/api/folders/laichau-fleet"),
        ("POST", "/api/folders"),
        ("GET", "/api/datasources/uid/fleet-postgres"),
        ("POST", "/api/datasources"),
        ("GET", "/api/datasources/uid/fleet-prometheus"),
        ("POST", "/api/datasources"),
        ("GET", "/api/dashboards/uid/test-fleet-overview"),
        ("POST", "/api/dashboards/db"),
        ("GET", "/api/dashboards/uid/test-ingest"),
        ("POST", "/api/dashboards/db"),
    ]
    folder, postgres, prometheus, overview, ingest = [r.body for r in state.writes()]
    assert folder == {"uid": "laichau-fleet", "title": "Bảng tin Lai Châu"}
    assert postgres["uid"] == "fleet-postgres"
    assert postgres["type"] == "grafana-postgresql-datasource"
    assert postgres["url"] == "timescaledb:5432"
    assert postgres["user"] == "grafana_reader"
    assert postgres["jsonData"]["database"] == "fleet"
    assert postgres["jsonData"]["sslmode"] == "disable"
    assert postgres["secureJsonData"] == {"password": "r@ader-pw"}  # URL-decoded
    assert prometheus["uid"] == "fleet-prometheus"
    assert prometheus["type"] == "prometheus"
    assert prometheus["url"] == PROM_URL
    for body, uid in ((overview, "test-fleet-overview"), (ingest, "test-ingest")):
        assert body["dashboard"]["uid"] == uid
        assert body["dashboard"]["id"] is None
        assert body["folderUid"] == "laichau-fleet"
        assert body["overwrite"] is True
    # The file in the API's envelope was unwrapped; its meta did not travel.
    assert set(ingest) == {"dashboard", "folderUid", "overwrite", "message"}
    assert ingest["dashboard"]["panels"][0]["datasource"]["uid"] == "fleet-prometheus"

    assert set(state.folders) == {"laichau-fleet"}
    assert set(state.datasources) == {"fleet-postgres", "fleet-prometheus"}
    assert set(state.dashboards) == {"test-fleet-overview", "test-ingest"}
    out = capsys.readouterr().out
    assert "folder: laichau-fleet created" in out
    assert "dashboard test-fleet-overview (Tổng quan đội bảng tin (test)): created" in out


def test_second_push_updates_in_place_and_rewrites_no_unchanged_dashboard(
    grafana: FakeGrafana, dashboards: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert push(grafana.url, dashboards) == 0
    first = len(grafana.state.requests)
    capsys.readouterr()

    assert push(grafana.url, dashboards) == 0

    second = grafana.state.requests[first:]
    # No POST at all: nothing is created twice. Data sources are written
    # again (their password is write-only in Grafana); dashboards are not.
    assert calls([r for r in second if r.method != "GET"]) == [
        ("PUT", "/api/datasources/uid/fleet-postgres"),
        ("PUT", "/api/datasources/uid/fleet-prometheus"),
    ]
    assert second[1].body is None  # a GET
    assert next(r.body["secureJsonData"] for r in second if r.method == "PUT") == {
        "password": "r@ader-pw"
    }
    state = grafana.state
    assert len(state.folders) == 1
    assert len(state.datasources) == 2
    assert len(state.dashboards) == 2
    assert {d["dashboard"]["version"] for d in state.dashboards.values()} == {1}
    out = capsys.readouterr().out
    assert "folder: laichau-fleet unchanged" in out
    assert "data source fleet-postgres: updated" in out
    assert "dashboard test-ingest (Ingest throughput (test)): unchanged" in out


def test_changed_dashboard_and_folder_title_are_updated_not_duplicated(
    grafana: FakeGrafana, dashboards: Path
) -> None:
    assert push(grafana.url, dashboards) == 0
    path = dashboards / "fleet-overview.json"
    model = json.loads(path.read_text(encoding="utf-8"))
    model["title"] = "Tổng quan (v2)"
    path.write_text(json.dumps(model), encoding="utf-8")
    first = len(grafana.state.requests)

    assert push(grafana.url, dashboards, "--folder-title", "Đội bảng tin Lai Châu") == 0

    writes = [r for r in grafana.state.requests[first:] if r.method != "GET"]
    assert ("PUT", "/api/folders/laichau-fleet") in calls(writes)
    folder_put = next(r for r in writes if r.path == "/api/folders/laichau-fleet")
    assert folder_put.body == {"title": "Đội bảng tin Lai Châu", "overwrite": True}
    saved = [r.body for r in writes if r.path == "/api/dashboards/db"]
    assert len(saved) == 1
    assert saved[0]["dashboard"]["uid"] == "test-fleet-overview"
    assert saved[0]["overwrite"] is True
    state = grafana.state
    assert len(state.dashboards) == 2
    stored = state.dashboards["test-fleet-overview"]["dashboard"]
    assert (stored["title"], stored["version"]) == ("Tổng quan (v2)", 2)
    assert state.folders["laichau-fleet"]["title"] == "Đội bảng tin Lai Châu"


def test_wrong_token_is_named_and_exits_non_zero(
    grafana: FakeGrafana, dashboards: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert push(grafana.url, dashboards, token="not-the-token") == 1

    err = capsys.readouterr().err
    assert "refused the token (401 Unauthorized)" in err
    assert grafana.url in err
    assert "FLEET_GRAFANA_TOKEN" in err
    assert grafana.state.writes() == []


def test_token_and_url_from_the_environment(
    grafana: FakeGrafana,
    dashboards: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("FLEET_GRAFANA_URL", grafana.url + "/")
    monkeypatch.setenv("FLEET_GRAFANA_TOKEN", TOKEN)
    monkeypatch.delenv("FLEET_GRAFANA_POSTGRES_URL", raising=False)
    monkeypatch.delenv("FLEET_GRAFANA_PROMETHEUS_URL", raising=False)

    assert main(["dashboards", "push", "--dir", str(dashboards)]) == 0

    assert set(grafana.state.dashboards) == {"test-fleet-overview", "test-ingest"}
    assert grafana.state.datasources == {}
    assert "no PostgreSQL or Prometheus URL given" in capsys.readouterr().out


def test_unreachable_grafana_is_named_and_exits_non_zero(
    dashboards: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"http://127.0.0.1:{free_port()}"  # nothing listens there

    assert push(url, dashboards, "--timeout", "3") == 1

    err = capsys.readouterr().err
    assert f"cannot reach Grafana at {url}: Connection refused" in err


def test_a_web_page_instead_of_grafana_is_named(
    dashboards: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with WebPage() as url:
        assert push(url, dashboards) == 1
    assert "did not answer like Grafana's HTTP API" in capsys.readouterr().err


def test_read_only_datasource_is_left_alone(grafana: FakeGrafana, dashboards: Path) -> None:
    grafana.state.datasources["fleet-prometheus"] = {
        "uid": "fleet-prometheus",
        "name": "Prometheus (provisioned)",
        "type": "prometheus",
        "url": "http://elsewhere:9090",
        "id": 99,
        "readOnly": True,
    }

    assert push(grafana.url, dashboards) == 0

    assert grafana.state.datasources["fleet-prometheus"]["url"] == "http://elsewhere:9090"
    assert ("PUT", "/api/datasources/uid/fleet-prometheus") not in calls(grafana.state.requests)


def test_refused_change_is_named(
    grafana: FakeGrafana, dashboards: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Another data source already has the name ours would get.
    grafana.state.datasources["someone-elses"] = {
        "uid": "someone-elses",
        "name": "Fleet PostgreSQL",
        "type": "grafana-postgresql-datasource",
        "id": 7,
        "readOnly": False,
    }

    assert push(grafana.url, dashboards) == 1

    err = capsys.readouterr().err
    assert (
        "Grafana refused to create data source fleet-postgres: 409 "
        "data source with the same name already exists"
    ) in err


def test_a_dashboard_without_uid_stops_the_push_before_grafana_is_asked(
    grafana: FakeGrafana, dashboards: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (dashboards / "no-uid.json").write_text(json.dumps({"title": "x", "panels": []}))

    assert push(grafana.url, dashboards) == 1

    assert 'no-uid.json: needs a "uid"' in capsys.readouterr().err
    assert grafana.state.requests == []


def test_duplicate_uids_are_refused(dashboards: Path) -> None:
    shutil.copy(dashboards / "fleet-overview.json", dashboards / "copy.json")
    with pytest.raises(DashboardPushError, match="also used by"):
        load_dashboards(dashboards)


def test_the_repository_dashboards_are_pushable() -> None:
    """Every dashboard another engineer puts under dashboards/grafana/dashboards
    carries what the push needs (a unique uid, a title)."""
    directory = REPO / "dashboards" / "grafana" / "dashboards"
    if not directory.is_dir() or not any(directory.rglob("*.json")):
        pytest.skip("dashboards/grafana/dashboards/ has no dashboards yet")
    assert load_dashboards(directory)


def test_older_grafana_gets_the_old_postgres_plugin_id(
    grafana: FakeGrafana, dashboards: Path
) -> None:
    assert push(grafana.url, dashboards, "--postgres-type", "postgres") == 0
    assert grafana.state.datasources["fleet-postgres"]["type"] == "postgres"
