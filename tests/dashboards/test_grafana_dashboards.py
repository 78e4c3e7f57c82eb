"""The Grafana dashboards (dashboards/grafana): well-formed, provisioned the
way docker-compose mounts them, and every query runs.

Each PostgreSQL query is expanded as Grafana expands it — template variables
first (multi-value variables as quoted, comma-separated lists), then
``$__interval``/``$__interval_ms``, then the PostgreSQL macros with the data
source's TimescaleDB flag as provisioned — and run as a read-only role with
Grafana's rights against a seeded fleet, on plain PostgreSQL and (when the
test server has it) TimescaleDB. Each must return the columns its panel
reads. PromQL is checked against docs/metrics.md and, when promtool is on
PATH, parsed by it.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest
import yaml  # type: ignore[import-untyped]  # no stubs in the dev dependencies

from fleet_server.dashboards.push import POSTGRES_UID, PROMETHEUS_UID, load_dashboards
from tests.dashboards.conftest import SeededFleet, grafana_connection
from tests.support.metrics import documented

REPO = Path(__file__).resolve().parents[2]
GRAFANA = REPO / "dashboards" / "grafana"
DASHBOARD_DIR = GRAFANA / "dashboards"
DATASOURCES = GRAFANA / "provisioning" / "datasources" / "fleet.yml"
PROVIDERS = GRAFANA / "provisioning" / "dashboards" / "fleet.yml"
#: written by `fleet-server dashboards roles --datasources` (one per organisation)
ORGANISATION_DATASOURCES = GRAFANA / "provisioning" / "datasources" / "organisations.yml"
COMPOSE = REPO / "docker-compose.yml"

Model = dict[str, Any]


def dashboards() -> list[Model]:
    return [
        json.loads(path.read_text(encoding="utf-8"))
        for path in sorted(DASHBOARD_DIR.glob("*.json"))
    ]


def panels(model: Model) -> Iterator[Model]:
    """Every panel, those inside rows included; rows themselves are not panels."""
    for panel in model.get("panels", []):
        if panel.get("type") == "row":
            yield from panel.get("panels", [])
        else:
            yield panel


def datasources() -> dict[str, Model]:
    provisioned = yaml.safe_load(DATASOURCES.read_text(encoding="utf-8"))
    return {source["uid"]: source for source in provisioned["datasources"]}


def variable(model: Model, name: str) -> Model:
    found: list[Model] = [v for v in model["templating"]["list"] if v["name"] == name]
    assert len(found) == 1, f"{model['uid']}: no single variable {name!r}"
    return found[0]


def variable_sql(var: Model) -> str:
    query = var["query"]
    return str(query["rawSql"] if isinstance(query, dict) else query)


def is_postgres(source: Model) -> bool:
    return bool(source["uid"] == POSTGRES_UID)


def postgres_panels() -> list[tuple[str, Model]]:
    return [
        (model["uid"], panel)
        for model in dashboards()
        for panel in panels(model)
        if is_postgres(panel["datasource"])
    ]


def english(title: str) -> str:
    return title.split(" / ", 1)[1]


# --------------------------------------------------------------------------- Grafana's expansion


INTERVALS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, "y": 31536000}
NICE = [1, 5, 10, 15, 30, 60, 300, 600, 900, 1800, 3600, 10800, 21600, 43200, 86400, 604800]


def parse_interval(text: str) -> timedelta:
    """Grafana's interval syntax: 10ms, 30s, 5m, 1h, 1d, 1w, 1y."""
    match = re.fullmatch(r"(\d+)(ms|s|m|h|d|w|y)", text.strip().strip("'"))
    assert match, f"not a Grafana interval: {text!r}"
    return timedelta(seconds=int(match[1]) * INTERVALS[match[2]])


def format_interval(value: timedelta) -> str:
    """gtime.FormatInterval: the largest whole unit."""
    seconds = value.total_seconds()
    for unit in ("y", "d", "h", "m", "s"):
        if seconds >= INTERVALS[unit]:
            return f"{int(seconds // INTERVALS[unit])}{unit}"
    return f"{max(1, int(seconds * 1000))}ms"


def regex_escape(value: str) -> str:
    """A regex metacharacter escaped inside a PromQL string, as Grafana's
    Prometheus data source does for a multi-value variable."""
    return re.sub(r"([$^*{}\[\]'+?.()|\\])", r"\\\\\1", value)


def rfc3339(at: datetime) -> str:
    """Go's time.RFC3339Nano in UTC: no trailing zeros in the fraction."""
    at = at.astimezone(UTC)
    fraction = f".{at.microsecond:06d}".rstrip("0") if at.microsecond else ""
    return at.strftime("%Y-%m-%dT%H:%M:%S") + fraction + "Z"


@dataclass
class Grafana:
    """How Grafana turns a panel's query into what the database runs."""

    start: datetime
    end: datetime
    #: variable name -> selected values (every option for "All")
    variables: dict[str, list[str]] = field(default_factory=dict)
    timescaledb: bool = True
    max_data_points: int = 1000

    def interval(self, minimum: str | None = None) -> timedelta:
        raw = (self.end - self.start).total_seconds() / self.max_data_points
        rounded = next((n for n in NICE if n >= raw), NICE[-1])
        floor = parse_interval(minimum).total_seconds() if minimum else 0
        return timedelta(seconds=max(rounded, floor))

    def _values(self, name: str, fmt: str | None, formatter: Callable[[list[str]], str]) -> str:
        values = self.variables[name]
        if fmt in (None, "sqlstring"):
            return formatter(values)
        if fmt in ("csv", "raw"):
            return ",".join(values)
        if fmt == "singlequote":
            return ",".join("'" + v.replace("'", "\\'") + "'" for v in values)
        if fmt == "doublequote":
            return ",".join('"' + v.replace('"', '\\"') + '"' for v in values)
        if fmt == "pipe":
            return "|".join(values)
        if fmt == "regex":
            return "(" + "|".join(regex_escape(v) for v in values) + ")"
        raise AssertionError(f"format {fmt!r} is not handled by this test")

    def _template(
        self, text: str, formatter: Callable[[list[str]], str], interval: timedelta
    ) -> str:
        builtins = {
            "__interval_ms": str(int(interval.total_seconds() * 1000)),
            "__interval": format_interval(interval),
            # max($__interval + scrape interval, 4 x scrape interval), scrapes every 15 s
            "__rate_interval": format_interval(
                max(interval + timedelta(seconds=15), timedelta(minutes=1))
            ),
            "__range": format_interval(self.end - self.start),
        }

        def replace(match: re.Match[str]) -> str:
            name = match[1] or match[3]
            if name in builtins:
                return builtins[name]
            if name not in self.variables:
                return match[0]  # a macro, or not a variable: Grafana leaves it
            return self._values(name, match[2], formatter)

        return re.sub(r"\$\{(\w+)(?::(\w+))?\}|\$(\w+)", replace, text)

    def sql(self, text: str, minimum_interval: str | None = None) -> str:
        interval = self.interval(minimum_interval)
        # the SQL data sources quote each value of a multi-value variable
        quoted = self._template(
            text, lambda vs: ",".join("'" + v.replace("'", "''") + "'" for v in vs), interval
        )
        # sqleng.Interpolate, then the PostgreSQL macro engine
        quoted = quoted.replace("$__unixEpochFrom()", str(int(self.start.timestamp())))
        quoted = quoted.replace("$__unixEpochTo()", str(int(self.end.timestamp())))
        return re.sub(r"\$([_a-zA-Z0-9]+)\(([^)]*)\)", lambda m: self._macro(m, quoted), quoted)

    def promql(self, text: str) -> str:
        return self._template(
            text, lambda vs: "(" + "|".join(regex_escape(v) for v in vs) + ")", self.interval()
        )

    def _macro(self, match: re.Match[str], whole: str) -> str:
        name, args = match[1], [a.strip() for a in match[2].split(",")]
        end = match.end()
        if name == "__timeGroup" and whole[end : end + 1] == ",":
            name = "__timeGroupAlias"  # Grafana's pre-5.3 compatibility
        frm, to = rfc3339(self.start), rfc3339(self.end)
        start, stop = int(self.start.timestamp()), int(self.end.timestamp())
        simple = {
            "__time": lambda: f'{args[0]} AS "time"',
            "__timeEpoch": lambda: f'extract(epoch from {args[0]}) as "time"',
            "__timeFilter": lambda: f"{args[0]} BETWEEN '{frm}' AND '{to}'",
            "__timeFrom": lambda: f"'{frm}'",
            "__timeTo": lambda: f"'{to}'",
            "__unixEpochFilter": lambda: f"{args[0]} >= {start} AND {args[0]} <= {stop}",
            "__timeGroup": lambda: self._time_group(args),
            "__timeGroupAlias": lambda: self._time_group(args) + ' AS "time"',
        }
        if name not in simple:
            raise AssertionError(f"macro ${name} is not one Grafana's PostgreSQL data source knows")
        return simple[name]()

    def _time_group(self, args: list[str]) -> str:
        seconds = parse_interval(args[1]).total_seconds()
        if self.timescaledb:
            return f"time_bucket('{seconds:.3f}s',{args[0]})"
        return f"floor(extract(epoch from {args[0]})/{seconds:g})*{seconds:g}"


def test_the_expansion_follows_grafana() -> None:
    start = datetime(2026, 1, 5, 1, 2, 3, tzinfo=UTC)
    g = Grafana(start, start + timedelta(days=2), {"site": ["a", "o'b"]}, timescaledb=False)
    assert g.sql("x IN ($site) AND y IN (${site:sqlstring}) AND $__timeFilter(t)") == (
        "x IN ('a','o''b') AND y IN ('a','o''b')"
        " AND t BETWEEN '2026-01-05T01:02:03Z' AND '2026-01-07T01:02:03Z'"
    )
    assert g.sql("$__timeGroupAlias(t, '1h')") == 'floor(extract(epoch from t)/3600)*3600 AS "time"'
    assert g.sql("$__timeGroup(t, 1h), v") == 'floor(extract(epoch from t)/3600)*3600 AS "time", v'
    assert g.sql("$__interval_ms $__interval", "1h") == "3600000 1h"
    assert g.sql("${site:csv} $__unixEpochFilter(e)") == (
        f"a,o'b e >= {int(start.timestamp())} AND e <= {int(start.timestamp()) + 172800}"
    )
    g.timescaledb = True
    assert g.sql("$__timeGroup(t, '5m')") == "time_bucket('300.000s',t)"
    g.variables["site"] = ["ma-lu-thang", "a.b"]
    assert g.promql('m{site=~"$site"}[$__rate_interval]') == r'm{site=~"(ma-lu-thang|a\\.b)"}[5m]'


# --------------------------------------------------------------------------- structure


def test_every_dashboard_parses_and_has_a_unique_uid() -> None:
    loaded = load_dashboards(DASHBOARD_DIR)  # what `dashboards push` would refuse
    assert len(loaded) == len(list(DASHBOARD_DIR.glob("*.json"))) >= 6
    uids = [d.uid for d in loaded]
    assert len(set(uids)) == len(uids)
    for model in dashboards():
        assert 36 <= model["schemaVersion"] <= 41, model["uid"]
        vietnamese, en = model["title"].split(" / ")
        assert vietnamese, f"{model['uid']}: the title starts with its Vietnamese name"
        assert en, f"{model['uid']}: the title ends with its English name"
        ids = [p["id"] for p in model["panels"]] + [
            p["id"] for p in panels(model) if p not in model["panels"]
        ]
        assert len(set(ids)) == len(ids), f"{model['uid']}: panel ids repeat"
        for panel in panels(model):
            assert " / " in panel["title"], f"{model['uid']}: {panel['title']!r} is not bilingual"
            assert panel["targets"], f"{model['uid']}: {panel['title']} has no query"


def test_every_dashboard_has_the_organisation_and_site_variables() -> None:
    for model in dashboards():
        organisation, site = variable(model, "organisation"), variable(model, "site")
        for var in (organisation, site):
            assert var["type"] == "query"
            assert var["datasource"]["uid"] == POSTGRES_UID
            assert var["multi"] is True
            assert var["includeAll"] is True
            assert var["refresh"] in (1, 2), "options are read when the dashboard loads"
            assert "__value" in variable_sql(var)
            assert "__text" in variable_sql(var)
        assert "$organisation" in variable_sql(site), f"{model['uid']}: site ignores organisation"


def test_panels_use_the_provisioned_data_sources() -> None:
    sources = datasources()
    assert set(sources) == {POSTGRES_UID, PROMETHEUS_UID}
    for model in dashboards():
        for panel in panels(model):
            refs = [
                panel["datasource"],
                *(t.get("datasource", panel["datasource"]) for t in panel["targets"]),
            ]
            for ref in refs:
                assert ref["uid"] in sources, f"{model['uid']}: {panel['title']}"
                assert ref["type"] == sources[ref["uid"]]["type"], panel["title"]


def test_every_postgres_query_uses_both_variables_and_no_time_bucket() -> None:
    for uid, panel in postgres_panels():
        for target in panel["targets"]:
            query = target["rawSql"]
            assert re.search(r"\$\{?organisation\b", query), f"{uid}: {panel['title']}"
            assert re.search(r"\$\{?site\b", query), f"{uid}: {panel['title']}"
            # time_bucket() exists on TimescaleDB only, and $__timeGroup becomes
            # time_bucket() with the data source's TimescaleDB flag on
            assert "time_bucket" not in query, f"{uid}: {panel['title']}"
            assert "$__timeGroup" not in query, f"{uid}: {panel['title']}"


def strings(node: Any) -> Iterator[str]:
    if isinstance(node, str):
        yield node
    elif isinstance(node, dict):
        for value in node.values():
            yield from strings(value)
    elif isinstance(node, list):
        for value in node:
            yield from strings(value)


def test_the_provisioning_matches_docker_compose() -> None:
    compose = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))["services"]["grafana"]
    environment = compose["environment"]
    for path in (DATASOURCES, ORGANISATION_DATASOURCES, PROVIDERS):
        for value in strings(yaml.safe_load(path.read_text(encoding="utf-8"))):
            for name in re.findall(r"\$(?:__env)?\{?(\w+)", value):
                assert name in environment, f"{path.name} reads {name}: compose does not set it"
    mounts = dict(v.rsplit(":", 2)[:2] for v in compose["volumes"] if v.startswith("./"))
    assert mounts["./dashboards/grafana/provisioning"] == "/etc/grafana/provisioning"
    (provider,) = yaml.safe_load(PROVIDERS.read_text(encoding="utf-8"))["providers"]
    assert provider["type"] == "file"
    assert provider["options"]["path"] == mounts["./dashboards/grafana/dashboards"]
    assert provider["folder"] == "Bảng tin Lai Châu"
    postgres = datasources()[POSTGRES_UID]
    assert postgres["type"] == "grafana-postgresql-datasource"
    assert postgres["jsonData"]["timescaledb"] is True
    assert postgres["jsonData"]["sslmode"] == "disable"
    assert "password" in postgres["secureJsonData"]
    assert datasources()[PROMETHEUS_UID]["type"] == "prometheus"


# ------------------------------------------------------------------ what each query returns

#: (dashboard uid, English title of the panel) -> the columns its SQL returns
EXPECTED: dict[tuple[str, str], list[str]] = {
    ("fleet-uptime", "Availability over the range"): [
        "availability",
        "down_hours",
        "unknown_hours",
        "maintenance_hours",
    ],
    ("fleet-uptime", "Boards now"): ["online", "not_online", "boards"],
    ("fleet-uptime", "Availability by site"): [
        "site",
        "organisation",
        "boards",
        "availability",
        "up_hours",
        "down_hours",
        "unknown_hours",
        "maintenance_hours",
    ],
    ("fleet-uptime", "Availability by board"): [
        "board",
        "board_name",
        "site",
        "availability",
        "up_hours",
        "down_hours",
        "unknown_hours",
        "maintenance_hours",
    ],
    ("fleet-uptime", "Boards not online now"): [
        "board",
        "board_name",
        "site",
        "state",
        "since",
        "reason",
        "last_seen_at",
    ],
    ("fleet-uptime", "Connectivity timeline"): ["time", "board", "state"],
    ("fleet-uptime", "Boards without mains, on battery"): ["time", "mains_lost", "on_battery"],
    ("fleet-uptime", "Power events by board"): [
        "board",
        "site",
        "hours_mains_lost",
        "hours_on_battery",
        "hours_low_battery",
        "battery_min",
    ],
    ("fleet-uptime", "Uplink round-trip time by site"): ["time", "metric", "value"],
    ("fleet-uptime", "Packet loss by site"): ["time", "metric", "value"],
    ("fleet-border-cameras", "Cameras now"): ["ok", "failing", "no_data"],
    ("fleet-border-cameras", "Camera status now"): [
        "site",
        "board",
        "camera",
        "camera_name",
        "status",
        "reachable",
        "rtsp_answered",
        "latency_ms",
        "last_sample",
    ],
    ("fleet-border-cameras", "Camera reachability by border site"): [
        "site",
        "cameras",
        "stream_ok",
        "reachable",
        "latency_ms",
    ],
    ("fleet-border-cameras", "Camera outages"): ["time", "camera", "state"],
    ("fleet-border-cameras", "Stream OK by border site"): ["time", "metric", "stream_ok"],
    ("fleet-border-cameras", "RTSP latency"): ["time", "metric", "latency_ms"],
    **{
        ("fleet-power-network", title): ["time", "metric", "value"]
        for title in (
            "Mains lost by site",
            "On battery by site",
            "Lowest battery by board",
            "UPS runtime left by board",
            "Lowest input voltage by site",
            "Round-trip time by site",
            "Packet loss by site",
            "Link down by site",
            "LTE signal (RSRP) by board",
        )
    },
    ("fleet-power-network", "Summary by board"): [
        "board",
        "site",
        "mains_lost_percent",
        "on_battery_percent",
        "battery_min",
        "rtt_ms",
        "loss_percent",
        "link_down_percent",
        "rsrp_dbm",
    ],
    ("fleet-broadcast-compliance", "On-air minutes per window"): [
        "time",
        "morning_avg",
        "morning_min",
        "afternoon_avg",
        "afternoon_min",
    ],
    ("fleet-broadcast-compliance", "Board-days by verdict"): [
        "compliant",
        "non_compliant",
        "unknown",
        "exempt",
    ],
    ("fleet-broadcast-compliance", "Verdicts per day"): ["time", "metric", "days"],
    ("fleet-broadcast-compliance", "Advertising share and emergency minutes"): [
        "time",
        "advertising_share",
        "emergency_minutes",
    ],
    ("fleet-broadcast-compliance", "Non-compliant days"): [
        "day",
        "board",
        "site",
        "morning_minutes",
        "afternoon_minutes",
        "morning_unknown",
        "afternoon_unknown",
        "status",
    ],
    ("fleet-broadcast-compliance", "Compliance by board"): [
        "board",
        "site",
        "judged_days",
        "compliant_days",
        "non_compliant_days",
        "unknown_days",
        "morning_avg",
        "afternoon_avg",
        "advertising_share",
    ],
    ("fleet-incidents-tickets", "Unresolved incidents"): ["critical", "major", "minor", "warning"],
    ("fleet-incidents-tickets", "Time to acknowledge and resolve"): ["mtta_s", "mttr_s"],
    ("fleet-incidents-tickets", "Unresolved incidents by class and severity"): [
        "class",
        "severity",
        "open",
        "acknowledged",
    ],
    ("fleet-incidents-tickets", "Response times by class"): [
        "class",
        "opened",
        "acknowledged",
        "resolved",
        "mtta_s",
        "mttr_s",
    ],
    ("fleet-incidents-tickets", "Incidents opened per day"): ["time", "metric", "incidents"],
    ("fleet-incidents-tickets", "Unresolved incidents list"): [
        "id",
        "opened_at",
        "severity",
        "class",
        "state",
        "title",
        "board",
        "site",
        "flapping",
    ],
    ("fleet-incidents-tickets", "Maintenance tickets"): ["unresolved", "past_due"],
    ("fleet-incidents-tickets", "Tickets by state"): ["state", "priority", "tickets", "past_due"],
    ("fleet-incidents-tickets", "SLA breaches"): [
        "id",
        "title",
        "priority",
        "state",
        "site",
        "board",
        "assignee",
        "due_at",
        "overdue_s",
    ],
    ("fleet-incidents-tickets", "Costs by category"): ["category", "amount_vnd"],
    ("fleet-incidents-tickets", "Costs by site"): [
        "site",
        "power",
        "repair",
        "maintenance",
        "internet",
        "other",
        "total",
    ],
}


def test_every_postgres_panel_declares_its_columns() -> None:
    panels_found = {(uid, english(panel["title"])) for uid, panel in postgres_panels()}
    assert panels_found == set(EXPECTED)


def test_panel_settings_name_only_returned_columns() -> None:
    """Overrides, table headers and bar-chart axes refer to columns by name:
    a renamed column would silently lose its unit or header."""
    for uid, panel in postgres_panels():
        columns = EXPECTED[uid, english(panel["title"])]
        (target,) = panel["targets"]
        if target["format"] == "time_series":
            assert columns[0] == "time", panel["title"]
            if "metric" in columns:
                continue  # overrides there name series (metric values), not columns
        for override in panel["fieldConfig"]["overrides"]:
            if override["matcher"]["id"] == "byName":
                assert override["matcher"]["options"] in columns, (uid, panel["title"], override)
        if panel["type"] == "barchart":
            assert panel["options"]["xField"] in columns
        if panel["type"] == "state-timeline":
            assert columns[0] == "time"
            for step in panel.get("transformations", []):
                if step["id"] == "partitionByValues":
                    assert set(step["options"]["fields"]) <= set(columns)


def options(conn: Any, grafana: Grafana, model: Model, name: str) -> list[str]:
    with conn.transaction():
        cursor = conn.execute(grafana.sql(variable_sql(variable(model, name))))
        rows = cursor.fetchall()
    columns = [c.name for c in cursor.description or []]
    assert columns == ["__text", "__value"], f"{model['uid']}: {name} returns {columns}"
    return [str(row[1]) for row in rows]


def all_selected(conn: Any, grafana: Grafana, model: Model) -> Grafana:
    """ "All" in both variables, as Grafana resolves it: every option."""
    grafana.variables["organisation"] = options(conn, grafana, model, "organisation")
    grafana.variables["site"] = options(conn, grafana, model, "site")
    return grafana


def run(conn: Any, grafana: Grafana, panel: Model) -> tuple[list[str], list[tuple[Any, ...]]]:
    (target,) = panel["targets"]
    with conn.transaction():
        cursor = conn.execute(grafana.sql(target["rawSql"], panel.get("interval")))
        rows = cursor.fetchall()
        return [c.name for c in cursor.description or []], rows


def model_of(uid: str) -> Model:
    (found,) = [m for m in dashboards() if m["uid"] == uid]
    return found


def timescaledb_flag() -> bool:
    return bool(datasources()[POSTGRES_UID]["jsonData"].get("timescaledb", False))


@pytest.fixture(scope="module")
def reader(fleet: SeededFleet) -> Iterator[Any]:
    conn = grafana_connection(fleet)
    yield conn
    conn.close()


def short_range(fleet: SeededFleet) -> Grafana:
    return Grafana(fleet.now - timedelta(days=2), fleet.now, timescaledb=timescaledb_flag())


@pytest.mark.parametrize(
    ("uid", "title"), sorted(EXPECTED), ids=[f"{u}:{t}" for u, t in sorted(EXPECTED)]
)
def test_postgres_panel_returns_its_columns(
    fleet: SeededFleet, reader: Any, uid: str, title: str
) -> None:
    model = model_of(uid)
    (panel,) = [p for p in panels(model) if english(p["title"]) == title]
    grafana = all_selected(reader, short_range(fleet), model)
    columns, rows = run(reader, grafana, panel)
    assert columns == EXPECTED[uid, title]
    assert rows, f"{title}: no rows for a fleet with a day of history ({fleet.variant})"
    if "time" in columns:
        times = [row[columns.index("time")] for row in rows]
        assert all(isinstance(t, datetime) for t in times)
        assert times == sorted(times), "Grafana needs rows in time order"
    if panel["targets"][0]["format"] == "time_series":
        # everything but time and the series name is a value to plot
        values = [i for i, c in enumerate(columns) if c not in ("time", "metric")]
        for row in rows:
            assert all(row[i] is None or isinstance(row[i], int | float) for i in values), row


def test_every_query_runs_over_a_long_range(fleet: SeededFleet, reader: Any) -> None:
    """A year and more: coarse bins (date_bin with a stride of hours), the
    availability functions over months, daily compliance rows."""
    for model in dashboards():
        grafana = Grafana(
            fleet.now - timedelta(days=400), fleet.now, timescaledb=timescaledb_flag()
        )
        all_selected(reader, grafana, model)
        for panel in panels(model):
            if is_postgres(panel["datasource"]):
                columns, _ = run(reader, grafana, panel)
                assert columns == EXPECTED[model["uid"], english(panel["title"])]


def test_site_options_follow_the_organisation(fleet: SeededFleet, reader: Any) -> None:
    uptime = model_of("fleet-uptime")
    grafana = short_range(fleet)
    organisations = options(reader, grafana, uptime, "organisation")
    assert {"bql-kkt", "ubnd-phong-tho"} <= set(organisations)
    assert "so-tttt" not in organisations  # runs no site: nothing to choose
    grafana.variables["organisation"] = ["ubnd-phong-tho"]
    assert options(reader, grafana, uptime, "site") == ["phong-tho"]
    grafana.variables["site"] = ["phong-tho"]
    (panel,) = [p for p in panels(uptime) if english(p["title"]) == "Availability by board"]
    _, rows = run(reader, grafana, panel)
    assert [row[0] for row in rows] == ["lc-phong-tho-01"]


def test_the_border_guard_sees_its_border_cameras(fleet: SeededFleet, reader: Any) -> None:
    cameras = model_of("fleet-border-cameras")
    grafana = short_range(fleet)
    grafana.variables["organisation"] = ["bdbp"]  # guards the cameras, runs no site itself
    sites = options(reader, grafana, cameras, "site")
    grafana.variables["site"] = sites
    assert sorted(sites) == ["ma-lu-thang", "mu-ca", "pa-nam-cum", "u-ma-tu-khoong"]
    (panel,) = [p for p in panels(cameras) if english(p["title"]) == "Camera status now"]
    columns, rows = run(reader, grafana, panel)
    status = {(r[columns.index("board")], r[columns.index("camera")]): r[4] for r in rows}
    assert len(status) == 2 * 6  # six boards at four border gates, two cameras each
    assert status["lc-ma-lu-thang-01", "cam2"] == "timeout"
    assert status["lc-u-ma-tu-khoong-01", "cam1"] == "unauthorized"
    assert status["lc-pa-nam-cum-01", "cam1"] == "ok"


def test_costs_and_breaches_are_the_tickets_figures(fleet: SeededFleet, reader: Any) -> None:
    model = model_of("fleet-incidents-tickets")
    grafana = all_selected(reader, short_range(fleet), model)
    by_title = {english(p["title"]): p for p in panels(model)}
    _, rows = run(reader, grafana, by_title["Costs by category"])
    # each cost line rounded to the dong: 2.5 x 450,001 = 1,125,002.5 -> 1,125,003
    assert {category: int(amount) for category, amount in rows} == {
        "internet": 150000,
        "power": 1125003,
        "repair": 200000,
    }
    columns, rows = run(reader, grafana, by_title["SLA breaches"])
    assert [row[columns.index("board")] for row in rows] == [fleet.boards[3]]
    _, rows = run(reader, grafana, by_title["Unresolved incidents"])
    # critical board lost; major camera and the site-less security incident; the
    # attached minor child; the resolved mains incident is gone
    assert rows == [(1, 2, 1, 0)]


def test_availability_panels_read_the_availability_functions(
    fleet: SeededFleet, reader: Any
) -> None:
    """The dashboards' figures are the functions' own (computed one way)."""
    model = model_of("fleet-uptime")
    grafana = all_selected(reader, short_range(fleet), model)
    by_title = {english(p["title"]): p for p in panels(model)}
    columns, rows = run(reader, grafana, by_title["Availability by board"])
    figures = {row[0]: row[columns.index("availability")] for row in rows}
    with psycopg.connect(fleet.url) as conn:  # the function itself, as the application
        expected: dict[str, Any] = dict(
            conn.execute(
                "SELECT board_id, availability FROM fleet_board_availability(%s, %s)",
                (grafana.start, grafana.end),
            ).fetchall()
        )
    assert figures == expected
    assert figures[fleet.boards[3]] < 1  # lost for the last two hours
    assert figures[fleet.boards[-1]] is None  # never had a state
    _, rows = run(reader, grafana, by_title["Connectivity timeline"])
    states: dict[str, list[str]] = {}
    for _, board, state in rows:
        states.setdefault(board, []).append(state)
    # the state at the start, each change, the state at the end
    assert states[fleet.boards[2]] == ["online", "offline", "online", "online"]
    assert states[fleet.boards[3]] == ["online", "lost", "lost"]
    assert states[fleet.boards[-1]] == ["unknown", "unknown"]
    columns, rows = run(reader, grafana, by_title["Boards not online now"])
    assert {row[0]: row[columns.index("state")] for row in rows} == {
        fleet.boards[3]: "lost",
        fleet.boards[4]: "stale",
        fleet.boards[-1]: "unknown",
    }


# --------------------------------------------------------------------------- Prometheus


def promql_targets() -> list[tuple[str, str, str]]:
    return [
        (model["uid"], panel["title"], target["expr"])
        for model in dashboards()
        for panel in panels(model)
        if panel["datasource"]["uid"] == PROMETHEUS_UID
        for target in panel["targets"]
    ]


def test_promql_uses_documented_families_only() -> None:
    known = set(documented())
    expressions = promql_targets()
    assert expressions
    used: set[str] = set()
    for uid, title, expr in expressions:
        for name in set(re.findall(r"\bfleet_[a-z_]+", expr)):
            family = re.sub(r"_(bucket|count|sum)$", "", name)
            assert family in known, f"{uid}: {title} uses {name}, not in docs/metrics.md"
            used.add(family)
    # the platform health dashboard covers the families the issue asks for
    assert {
        "fleet_ingest_messages_total",
        "fleet_ingest_lag_seconds",
        "fleet_ingest_dead_letters_total",
        "fleet_ingest_commit_duration_seconds",
        "fleet_engine_leader",
        "fleet_engine_evaluation_duration_seconds",
        "fleet_notification_outbox_depth",
        "fleet_api_request_duration_seconds",
    } <= used


def test_promql_parses(tmp_path: Path) -> None:
    """Each expression, expanded, as a recording rule that promtool checks."""
    binary = shutil.which("promtool")
    if binary is None:
        pytest.skip("promtool is not on PATH (Debian package 'prometheus')")
    now = datetime.now(UTC)
    grafana = Grafana(
        now - timedelta(hours=6),
        now,
        {"organisation": ["bql-kkt", "bdbp"], "site": ["ma-lu-thang"]},
    )
    rules = [
        {"record": f"dashboard:expression_{i}", "expr": grafana.promql(expr)}
        for i, (_, _, expr) in enumerate(promql_targets())
    ]
    path = tmp_path / "dashboards.rules.yml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "dashboards", "rules": rules}]}))
    done = subprocess.run(
        [binary, "check", "rules", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
