"""What the console's administration pages share (notification contacts and
routes, accounts, board provisioning: ``admin_*.py``): their tabs, the
query of a list page, the context every page has, reading form fields (the
model itself: ``forms.checked``), and the answer to a refused form —
the same page again, with the reason and what was typed (never a password
or secret), so nothing has to be typed twice.

Every form goes through the same service as the API, so it checks, scopes
and audits the same; after a change the browser is sent to a page that says
what was done (``web.redirect(..., flash=...)``)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from fastapi.responses import RedirectResponse

from fleet_server.access.pagination import ListParams
from fleet_server.access.principal import Principal
from fleet_server.api.console import forms, i18n, place_search
from fleet_server.api.console.web import redirect
from fleet_server.api.deps import Conn
from fleet_server.errors import Invalid
from fleet_server.organisations import service as organisations_service

#: (path, label key, who may open it), in tab order.
TABS: tuple[tuple[str, str, Callable[[Principal], bool]], ...] = (
    ("/admin/contacts", "admin.tab.contacts", lambda u: u.can("route.read")),
    ("/admin/routes", "admin.tab.routes", lambda u: u.can("route.read")),
    ("/admin/users", "admin.tab.users", lambda u: u.can("user.admin")),
    ("/admin/boards", "admin.tab.boards", lambda u: u.can("board.provision")),
)
#: Form fields never written back into a page after a refusal.
SECRET_FIELDS = forms.SECRET_FIELDS
#: The rows a list page shows at a time.
PAGE_SIZE = 50


def tabs_for(user: Principal) -> list[tuple[str, str]]:
    return [(path, label) for path, label, allowed in TABS if allowed(user)]


def common(
    conn: Conn, user: Principal, *, site_ids: Iterable[int | None] = (), **extra: Any
) -> dict[str, Any]:
    """What every administration page has: the tabs, the organisations to
    choose from (a few dozen; ``organisation_names`` by id), the names of the
    sites the page shows (``site_ids``; ``site_names``: id -> place, a row
    looks its site up instead of scanning every site), no refusal yet and an
    empty form; with ``extra``. The sites' forms pick a site by name
    (``place_search``), so no page lists every site (2,500 options were most
    of an account page's rendering time, issue 20)."""
    organisations: list[Any] = []
    sites: dict[int, place_search.Place] = {}
    if user.can("board.read"):
        # ids and names only (with their counts: ~35 ms a page)
        organisations = organisations_service.organisation_names(conn, user, forms.ALL.limit)
        sites = place_search.sites_named(conn, user, {i for i in site_ids if i})
    return {
        "tabs": tabs_for(user),
        "organisations": organisations,
        "organisation_names": {o["id"]: o for o in organisations},
        "site_names": sites,
        **extra,
        **forms.no_refusal(),
    }


def site_label(site_id: int, names: Mapping[int, place_search.Place], language: str) -> str:
    """A site a picker box is filled with: its name in ``language`` and its
    token (``Phong Thổ [site:12]``: resolved exactly, even where two sites
    share a name), or the token alone for a site not in ``names``."""
    place = names.get(site_id)
    if place is None:
        return f"site:{site_id}"
    return f"{i18n.local_name(language, place.name, place.name_en) or site_id} [{place.value}]"


# -- reading lists and forms ------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Filters:
    """A list page's query: active or not (None: both, ``active`` as typed),
    the search text and the page."""

    active: bool | None
    active_text: str
    q: str | None
    page: ListParams


def filters(params: Mapping[str, str]) -> Filters:
    """The query of a list page, each value bounded (anything else: none)."""
    active_text = params.get("active", "")
    offset = int(params["offset"]) if params.get("offset", "").isdigit() else 0
    return Filters(
        active={"yes": True, "no": False}.get(active_text),
        active_text=active_text,
        q=(params.get("q") or "").strip()[:100] or None,
        page=ListParams(limit=PAGE_SIZE, offset=min(offset, 1_000_000), sort=None),
    )


def blank_none(value: str | None) -> str | None:
    """A text field: stripped, None when empty."""
    value = (value or "").strip()
    return value or None


def number_or_none(value: str | None, field: str) -> int | None:
    """A select or number field: None when empty, else a whole number ≥ 1."""
    text = (value or "").strip()
    if not text:
        return None
    if not text.isdigit() or not 1 <= int(text) <= 2**62:
        raise Invalid(f"{field}: not a valid choice ({text[:40]!r})", field=field)
    return int(text)


def numbers(values: list[str] | None, field: str) -> list[int]:
    found = [number_or_none(v, field) for v in values or []]
    return [n for n in found if n is not None]


# -- answers ---------------------------------------------------------------------------


def done(path: str, what: str) -> RedirectResponse:
    """After a change: a GET of ``path`` whose page says what was done (the
    console's confirmation, ``flash.admin_<what>`` in messages.toml), at its
    top (``#main``: a form's own ``#section`` is not carried over)."""
    return redirect(path if "#" in path else f"{path}#main", flash=f"admin_{what}")


#: The shared refusal (``forms.refused``), under the names these pages use.
shown = forms.shown
refused = forms.refused
