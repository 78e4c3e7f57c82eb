"""The overview's fleet part: the counts, the map and the site list, rendered
once per change of the fleet's health, per scope and language, not per request.

At 2,500 sites reading the fleet, placing the map's names and writing its
SVG took seconds; the part depends only on the caller's scope, the language
and the fleet's health, so it is kept in
:mod:`fleet_server.organisations.health_cache` under (scope, language) at the
fleet health version. It is rendered from a context holding nothing of the
signed-in user (no CSRF token, no name, no permissions: StrictUndefined
refuses any other name), so what one account was served is safe for every
account of the same scope; the rest of the page is rendered per request.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Hashable
from dataclasses import dataclass
from typing import Any

from fastapi.responses import Response
from markupsafe import Markup

from fleet_server.access.principal import Principal
from fleet_server.api.console import i18n, svg
from fleet_server.api.console.web import ENVS
from fleet_server.api.deps import Conn
from fleet_server.organisations.health_cache import cached
from fleet_server.organisations.models import HEALTHS, STATES
from fleet_server.organisations.schemas import SiteHealth
from fleet_server.organisations.service import fleet_counts, kept_site_health

#: The overview lists this many sites, problems first (the map shows them all).
SITE_ROWS = 60
TEMPLATE = "_overview_fleet.html"
#: Renderings made by this process, by language (for tests and profiling).
RENDERS: Counter[str] = Counter()


@dataclass(frozen=True, slots=True)
class FleetData:
    """What the fleet part shows, the same in either language."""

    counts: dict[str, int]
    sites: list[SiteHealth]
    hidden_sites: int
    site_map: svg.SiteMap
    #: The kept site list it was made from (the same object: unchanged).
    source: tuple[SiteHealth, ...]

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, FleetData):
            return NotImplemented
        return self.source is other.source and self.counts == other.counts

    __hash__ = None  # type: ignore[assignment]


def fleet_data(conn: Conn, user: Principal, kept: FleetData | None = None) -> FleetData:
    """The part's data; ``kept`` itself when its sites and counts are the
    ones kept now (a confirmation then places no map)."""
    sites = kept_site_health(conn, user)  # problems first
    counts = fleet_counts(conn, user)
    if kept is not None and kept.source is sites and kept.counts == counts:
        return kept
    shown = list(sites[:SITE_ROWS])
    return FleetData(counts, shown, len(sites) - len(shown), svg.site_map(list(sites)), sites)


def render_fleet(data: FleetData, language: str) -> Markup:
    """The fleet part in ``language``: from the data and the words only."""
    RENDERS[language] += 1
    t = i18n.translator(language)

    def label(prefix: str, value: object) -> str:
        return i18n.label(language, prefix, value)

    def local_name(name: str | None, name_en: str | None = None) -> str:
        return i18n.local_name(language, name, name_en)

    def markers(site_map: svg.SiteMap) -> Markup:
        words = svg.MarkerWords(
            {h: label("health", h) for h in HEALTHS}, t("site.boards"), t("site.incidents")
        )
        return svg.map_markers(site_map, local_name=local_name, words=words)

    values: dict[str, Any] = {
        "t": t,
        "label": label,
        "local_name": local_name,
        "map_markers": markers,
        "healths": HEALTHS,
        "states": STATES,
        "lang": language,
        "counts": data.counts,
        "sites": data.sites,
        "hidden_sites": data.hidden_sites,
        "site_map": data.site_map,
    }
    return Markup(ENVS[language].get_template(TEMPLATE).render(values))  # noqa: S704 (autoescaped template)


#: Where a spliced page's fleet part goes (user text is escaped: no ``<`` in it).
PLACEHOLDER = "<!--fleet-part-->"


@dataclass(frozen=True, slots=True)
class Rendered:
    html: Markup
    #: The same, encoded once (the admin's part is ~750 KB: encoding it per
    #: request was 40 % of the page's CPU).
    body: bytes
    #: What it was rendered from (a rebuild finding the same data re-renders nothing).
    data: FleetData | None = None


class FleetPart:
    """The fleet part for one request: called by the template with the
    page's language (``{{ fleet(lang) }}``), it answers the kept rendering
    for the caller's scope, rendering it first if the fleet changed. With
    ``splice``, it answers a placeholder instead and :meth:`splice` puts the
    kept bytes into the encoded page."""

    def __init__(self, conn: Conn, user: Principal, *, splice: bool = False) -> None:
        user.need("board.read")
        self._conn = conn
        self._user = user
        self._splice = splice
        self._body: bytes | None = None

    def __call__(self, language: str) -> Markup:
        scope: Hashable = self._user.scope

        def build(conn: Conn, kept: Rendered | None) -> Rendered:
            data = self.data(conn)
            if kept is not None and kept.data is data:
                return kept
            html = render_fleet(data, language)
            return Rendered(html, str(html).encode(), data)

        rendered: Rendered = cached(self._conn, ("overview", scope, language), build)
        if not self._splice:
            return rendered.html
        self._body = rendered.body
        return Markup(PLACEHOLDER)  # noqa: S704 (a constant)

    def splice(self, response: Response) -> Response:
        """``response`` (a page rendered with this part) with the part's bytes
        in place of the placeholder."""
        mark = PLACEHOLDER.encode()
        at = bytes(response.body).find(mark) if self._body is not None else -1
        if self._body is None or at < 0:
            return response
        body = bytes(response.body)
        response.body = b"".join((body[:at], self._body, body[at + len(mark) :]))
        response.headers["content-length"] = str(len(response.body))
        return response

    def data(self, conn: Conn | None = None) -> FleetData:
        """The part's data, kept per scope (the two languages share it)."""
        scope: Hashable = self._user.scope
        user = self._user
        found: FleetData = cached(
            conn or self._conn, ("overview-data", scope), lambda c, kept: fleet_data(c, user, kept)
        )
        return found
