"""Push the fleet's Grafana folder, data sources and dashboards, idempotently.

Everything is addressed by uid, so a second run updates what the first one
made and never duplicates it:

* the folder is created, or renamed when its title changed;
* each data source is created, or updated in place (Grafana never hands a
  password back, so it is always sent again); one provisioned from files
  (``readOnly``) is left alone;
* each dashboard is saved into the folder with ``overwrite``, unless Grafana
  already holds the same JSON there: then nothing is written and no new
  version appears in its history. One provisioned from files is left alone.

grafana-client's exceptions, and its transport's (``OSError`` subclasses), are
translated once, in ``Grafana._call``, into ``DashboardPushError`` naming the
problem.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit, urlunsplit

from fleet_server.errors import FleetError

log = logging.getLogger(__name__)

DEFAULT_DASHBOARD_DIR = Path("dashboards/grafana/dashboards")
DEFAULT_FOLDER_UID = "laichau-fleet"
#: The same folder the file provisioning creates (dashboards/grafana/provisioning).
DEFAULT_FOLDER_TITLE = "Bảng tin Lai Châu"
POSTGRES_UID = "fleet-postgres"
PROMETHEUS_UID = "fleet-prometheus"
#: The PostgreSQL plugin's id since Grafana 10.3 ("postgres" is its old alias).
POSTGRES_TYPE = "grafana-postgresql-datasource"
#: Grafana's rule for folder and dashboard uids (they also appear in URL paths).
UID_RE = re.compile(r"^[A-Za-z0-9_-]{1,40}$")
SAVE_MESSAGE = "fleet-server dashboards push"


class DashboardPushError(FleetError):
    """Grafana could not be reached or refused a change, or a file is unusable."""


@dataclass(frozen=True, slots=True)
class DataSource:
    """One Grafana data source, as the push creates or updates it."""

    uid: str
    name: str
    type: str
    url: str
    user: str = ""
    database: str = ""
    json_data: dict[str, Any] = field(default_factory=dict)
    secure_json_data: dict[str, str] = field(default_factory=dict)

    def body(self) -> dict[str, Any]:
        return {
            "uid": self.uid,
            "name": self.name,
            "type": self.type,
            "url": self.url,
            "access": "proxy",
            "user": self.user,
            "database": self.database,  # Grafana < 10 reads it here, later ones in jsonData
            "basicAuth": False,
            "isDefault": False,
            "jsonData": dict(self.json_data),
            "secureJsonData": dict(self.secure_json_data),
        }


def postgres_datasource(
    url: str,
    *,
    uid: str = POSTGRES_UID,
    name: str = "Fleet PostgreSQL",
    plugin: str = POSTGRES_TYPE,
) -> DataSource:
    """The PostgreSQL data source from ``postgresql://user:password@host:port/db``,
    the address as *Grafana* reaches the database. ``?sslmode=`` is honoured
    (default ``require``); use a read-only account."""
    parts = urlsplit(url)
    if parts.scheme not in ("postgresql", "postgres") or not parts.hostname:
        raise DashboardPushError(
            "the PostgreSQL data source URL must look like "
            "postgresql://user:password@host:5432/fleet"
        )
    database = unquote(parts.path.lstrip("/"))
    if not database or not parts.username:
        raise DashboardPushError("the PostgreSQL data source URL needs a user and a database")
    try:
        port = parts.port or 5432
    except ValueError as exc:
        raise DashboardPushError(f"the PostgreSQL data source URL has a bad port: {exc}") from exc
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    sslmode = parse_qs(parts.query).get("sslmode", ["require"])[0]
    return DataSource(
        uid=uid,
        name=name,
        type=plugin,
        url=f"{host}:{port}",
        user=unquote(parts.username),
        database=database,
        json_data={"database": database, "sslmode": sslmode, "timescaledb": True},
        secure_json_data={"password": unquote(parts.password)} if parts.password else {},
    )


def prometheus_datasource(
    url: str, *, uid: str = PROMETHEUS_UID, name: str = "Fleet Prometheus"
) -> DataSource:
    """The Prometheus data source at ``url`` (as Grafana reaches it)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise DashboardPushError(
            "the Prometheus data source URL must look like http://prometheus:9090"
        )
    return DataSource(
        uid=uid,
        name=name,
        type="prometheus",
        url=url.rstrip("/"),
        json_data={"httpMethod": "POST"},
    )


@dataclass(frozen=True, slots=True)
class DashboardFile:
    path: Path
    uid: str
    title: str
    model: dict[str, Any]


def load_dashboards(directory: Path) -> list[DashboardFile]:
    """Every ``*.json`` under ``directory``; each must carry a unique ``uid``
    (what makes the push idempotent) and a title. A file in the API's own
    envelope (``{"dashboard": {...}, "meta": ...}``) is unwrapped."""
    if not directory.is_dir():
        raise DashboardPushError(f"no dashboard directory {directory}")
    found: list[DashboardFile] = []
    seen: dict[str, Path] = {}
    for path in sorted(directory.rglob("*.json")):
        try:
            model = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, ValueError) as exc:
            raise DashboardPushError(f"{path}: not a readable JSON file: {exc}") from exc
        if isinstance(model, dict) and isinstance(model.get("dashboard"), dict):
            model = model["dashboard"]
        if not isinstance(model, dict):
            raise DashboardPushError(f"{path}: a dashboard must be a JSON object")
        uid, title = model.get("uid"), model.get("title")
        if not isinstance(uid, str) or not UID_RE.match(uid):
            raise DashboardPushError(
                f'{path}: needs a "uid" of 1 to 40 letters, digits, "-" or "_" (the push'
                " finds dashboards by uid: a second run updates instead of duplicating)"
            )
        if not isinstance(title, str) or not title.strip():
            raise DashboardPushError(f'{path}: needs a "title"')
        if uid in seen:
            raise DashboardPushError(f"{path}: uid {uid!r} is also used by {seen[uid]}")
        seen[uid] = path
        found.append(DashboardFile(path, uid, title, model))
    return found


def _normalized(url: str) -> str:
    """grafana-client appends ``api`` to the path as it is: a sub-path needs
    its trailing slash (``https://host/grafana/``)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise DashboardPushError(
            f"the Grafana URL must be http(s)://host[:port][/path], not {url!r}"
        )
    path = parts.path if not parts.path or parts.path.endswith("/") else parts.path + "/"
    return urlunsplit((parts.scheme, parts.netloc, path, parts.query, ""))


class Grafana:
    """The few calls of Grafana's HTTP API the push makes, errors translated."""

    def __init__(self, url: str, token: str, *, timeout: float = 10.0) -> None:
        from grafana_client.api import GrafanaApi  # noqa: PLC0415 - only this command needs it

        if not token:
            raise DashboardPushError("no Grafana token: give --token or FLEET_GRAFANA_TOKEN")
        self.url = _normalized(url)
        self.timeout = timeout
        self._api = GrafanaApi.from_url(self.url, credential=token, timeout=timeout)

    @contextmanager
    def _call(self, what: str) -> Iterator[None]:
        from grafana_client.client import (  # noqa: PLC0415
            GrafanaClientError,
            GrafanaException,
            GrafanaServerError,
            GrafanaUnauthorizedError,
        )
        from requests.exceptions import Timeout  # noqa: PLC0415 - grafana-client 3.x's transport

        try:
            yield
        except GrafanaUnauthorizedError as exc:
            raise DashboardPushError(
                f"Grafana at {self.url} refused the token (401 Unauthorized) when asked to"
                f" {what}: check --token / FLEET_GRAFANA_TOKEN (a service account token)"
            ) from exc
        except GrafanaClientError as exc:
            if exc.status_code == 403:
                raise DashboardPushError(
                    f"the token may not {what} (403 Forbidden): give its Grafana service"
                    " account the Admin role (data sources need it)"
                ) from exc
            raise DashboardPushError(
                f"Grafana refused to {what}: {exc.status_code} {_reason(exc)}"
            ) from exc
        except GrafanaServerError as exc:
            raise DashboardPushError(
                f"Grafana failed to {what}: {exc.status_code} {_reason(exc)}"
            ) from exc
        except Timeout as exc:
            raise DashboardPushError(
                f"Grafana at {self.url} did not answer within {self.timeout:g} s ({what})"
            ) from exc
        except (GrafanaException, OSError) as exc:
            raise DashboardPushError(
                f"cannot reach Grafana at {self.url}: {_root_cause(exc)}"
            ) from exc
        except ValueError as exc:  # a 200 that is not JSON: a proxy page, another service
            raise DashboardPushError(
                f"{self.url} did not answer like Grafana's HTTP API ({what}): is the URL right?"
            ) from exc

    def _object(self, answer: object, what: str) -> dict[str, Any]:
        if not isinstance(answer, dict):
            raise DashboardPushError(
                f"{self.url} did not answer like Grafana's HTTP API ({what}): is the URL right?"
            )
        return answer

    def _find(self, fetch: Callable[[], object], what: str) -> dict[str, Any] | None:
        """``fetch()``'s object, or None when Grafana answers 404."""
        from grafana_client.client import GrafanaClientError  # noqa: PLC0415

        with self._call(what):
            try:
                answer = fetch()
            except GrafanaClientError as exc:
                if exc.status_code == 404:
                    return None
                raise
        return self._object(answer, what)

    def _send(self, send: Callable[[], object], what: str) -> dict[str, Any]:
        with self._call(what):
            answer = send()
        return self._object(answer, what)

    def folder(self, uid: str) -> dict[str, Any] | None:
        return self._find(lambda: self._api.folder.get_folder(uid), f"read folder {uid}")

    def create_folder(self, uid: str, title: str) -> None:
        self._send(lambda: self._api.folder.create_folder(title, uid=uid), f"create folder {uid}")

    def rename_folder(self, uid: str, title: str) -> None:
        self._send(
            lambda: self._api.folder.update_folder(uid, title=title, overwrite=True),
            f"rename folder {uid}",
        )

    def datasource(self, uid: str) -> dict[str, Any] | None:
        return self._find(
            lambda: self._api.datasource.get_datasource_by_uid(uid), f"read data source {uid}"
        )

    def create_datasource(self, body: dict[str, Any]) -> None:
        self._send(
            lambda: self._api.datasource.create_datasource(body),
            f"create data source {body['uid']}",
        )

    def update_datasource(self, uid: str, body: dict[str, Any]) -> None:
        self._send(
            lambda: self._api.datasource.update_datasource_by_uid(uid, body),
            f"update data source {uid}",
        )

    def dashboard(self, uid: str) -> dict[str, Any] | None:
        return self._find(lambda: self._api.dashboard.get_dashboard(uid), f"read dashboard {uid}")

    def save_dashboard(self, payload: dict[str, Any]) -> None:
        uid = payload["dashboard"]["uid"]
        self._send(lambda: self._api.dashboard.update_dashboard(payload), f"save dashboard {uid}")


def _root_cause(exc: BaseException) -> str:
    """The socket's own words ("Connection refused", "Name or service not
    known") rather than the HTTP library's page of wrappers."""
    seen: BaseException | None = exc
    found = str(exc)
    while seen is not None:
        if isinstance(seen, OSError) and seen.strerror:
            found = seen.strerror
        seen = seen.__cause__ or seen.__context__
    return found[:300]


def _reason(exc: Any) -> str:
    response = exc.response
    if isinstance(response, dict) and response.get("message"):
        return str(response["message"])
    return str(response or exc.message)[:200]


def ensure_folder(grafana: Grafana, uid: str, title: str) -> str:
    current = grafana.folder(uid)
    if current is None:
        grafana.create_folder(uid, title)
        return "created"
    if current.get("title") == title:
        return "unchanged"
    grafana.rename_folder(uid, title)
    return "updated"


def ensure_datasource(grafana: Grafana, source: DataSource) -> str:
    current = grafana.datasource(source.uid)
    if current is None:
        grafana.create_datasource(source.body())
        return "created"
    if current.get("readOnly"):
        # Provisioned from files: Grafana refuses API changes, and the files win.
        return "provisioned from files, left as is"
    grafana.update_datasource(source.uid, source.body())
    return "updated"


def _comparable(model: dict[str, Any]) -> dict[str, Any]:
    """What Grafana stores of a dashboard, less what it assigns itself."""
    return {k: v for k, v in model.items() if k not in ("id", "version")}


def push_dashboard(grafana: Grafana, dashboard: DashboardFile, folder_uid: str) -> str:
    model = {**dashboard.model, "uid": dashboard.uid, "id": None}
    current = grafana.dashboard(dashboard.uid)
    if current is not None:
        meta = current.get("meta") or {}
        if meta.get("provisioned"):
            return "provisioned from files, left as is"
        stored = current.get("dashboard") or {}
        if meta.get("folderUid") == folder_uid and _comparable(stored) == _comparable(model):
            return "unchanged"
    grafana.save_dashboard(
        {"dashboard": model, "folderUid": folder_uid, "overwrite": True, "message": SAVE_MESSAGE}
    )
    return "created" if current is None else "updated"


@dataclass
class PushReport:
    folder: str = ""
    datasources: list[tuple[str, str]] = field(default_factory=list)
    dashboards: list[tuple[DashboardFile, str]] = field(default_factory=list)

    def lines(self) -> list[str]:
        out = [f"folder: {self.folder}"]
        out += [f"data source {uid}: {action}" for uid, action in self.datasources]
        out += [f"dashboard {d.uid} ({d.title}): {action}" for d, action in self.dashboards]
        return out


def push(
    grafana: Grafana,
    dashboards: Sequence[DashboardFile],
    *,
    datasources: Sequence[DataSource] = (),
    folder_uid: str = DEFAULT_FOLDER_UID,
    folder_title: str = DEFAULT_FOLDER_TITLE,
) -> PushReport:
    """Folder first (dashboards go into it), then data sources (dashboards
    refer to them by uid), then the dashboards."""
    report = PushReport()
    report.folder = f"{folder_uid} {ensure_folder(grafana, folder_uid, folder_title)}"
    for source in datasources:
        report.datasources.append((source.uid, ensure_datasource(grafana, source)))
    for dashboard in dashboards:
        action = push_dashboard(grafana, dashboard, folder_uid)
        log.info("dashboard %s: %s", dashboard.uid, action)
        report.dashboards.append((dashboard, action))
    return report
