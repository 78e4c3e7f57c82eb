"""The "where" picker of the console's operational forms: a text input the
reader types a site's or board's name (or id) into, a JSON search
(``GET /search/places?q=…&kind=site|board``) suggesting at most
``LIMIT`` places in the caller's scope, and the server resolving what the
form posts back into ``(site_id, board_id)``.

It replaces a ``<select>`` of every site and board in scope (1-2 MB for
the province, and capped at 500 of each, so most of 2,500 sites could not
be chosen). Without JavaScript the picker still works: the page lists a
few places (``shortlist``) in a ``<datalist>`` and the server accepts an
id, ``site:<id>``/``board:<id>``, a suggestion's text (``… [site:12]``)
or a place's exact name; an unknown or ambiguous name is refused naming
the field.

Matching ignores case and Vietnamese accents ("phong tho" finds "Phong
Thổ"): the text typed is folded (``fold``: no accents, lower-case) and
looked for in each place's stored folded names (``search_text``, migration
0056, folded by the SQL twin ``place_fold``), from a trigram index where
the database has pg_trgm; ``%``, ``_``, ``\\`` and any other sign typed
are matched as themselves. Scope: only places the caller sees are ever
searched or resolved."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse

from fleet_server.access.principal import Principal
from fleet_server.api.console import i18n
from fleet_server.api.console.forms import PICKED, Longest
from fleet_server.api.console.web import language_of, page_for
from fleet_server.api.deps import Conn, Db
from fleet_server.api.problems import Problem
from fleet_server.errors import Invalid
from fleet_server.organisations import storage_places

router = APIRouter(include_in_schema=False)

#: Any signed-in reader; the route needs board.read or incident.report (the report form).
Reader = Annotated[Principal, Depends(page_for())]
#: The most suggestions one search returns.
LIMIT = 20
#: The most places a page lists for a reader without JavaScript.
SHORTLIST = 50
#: The longest text searched (a longer one is cut, never refused).
LONGEST = 100
#: A suggestion's value ends with its token: ``Phong Thổ [site:12]``.
TOKEN = re.compile(r"(?:^|\[)(site|board):([A-Za-z0-9_-]{1,64})\]?\s*$")


#: Combining marks (accents, the horn of ơ and ư) dropped after decomposing.
_MARKS = re.compile("[\u0300-\u036f]")
#: đ and Đ (no decomposition) as d, and ASCII capitals as small letters
#: (only ASCII: PostgreSQL's ``lower`` in the C collation, as ``place_fold``).
_BARE = str.maketrans({"đ": "d", "Đ": "d", **{chr(c): chr(c + 32) for c in range(65, 91)}})
#: The longest id a site has (bigint).
SITE_ID_DIGITS = 18


def fold(text: str) -> str:
    """``text`` without accents, ASCII letters lower-cased ("Phong Thổ" ->
    "phong tho"): the same as the database's ``place_fold`` (migration 0056)."""
    return _MARKS.sub("", unicodedata.normalize("NFD", text)).translate(_BARE)


def _like(folded: str) -> str:
    """``folded`` as a LIKE "contains" pattern, wildcards matched as themselves
    (a line break as a space: ``search_text`` keeps one field a line)."""
    escaped = folded.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return "%" + escaped.replace("\n", " ").replace("\r", " ") + "%"


def _params(text: str) -> dict[str, Any]:
    """The search's parameters for ``text`` (storage_places' docstring)."""
    folded = fold(text)
    site = int(text) if text.isascii() and text.isdigit() and len(text) <= SITE_ID_DIGITS else None
    return {"like": _like(folded), "folded": folded, "exact": text, "id": site}


@dataclass(frozen=True, slots=True)
class Place:
    kind: Literal["site", "board"]
    id: str
    name: str
    name_en: str | None
    site_name: str | None = None
    site_name_en: str | None = None
    site_id: int | None = None

    @property
    def value(self) -> str:
        return f"{self.kind}:{self.id}"

    def label(self, language: str) -> str:
        """The text the picker shows and posts back (ending with its token)."""
        t = i18n.translator(language)
        name = i18n.local_name(language, self.name, self.name_en) or self.id
        if self.kind == "site":
            return f"{t('ops.whole_site', name=name)} [{self.value}]"
        site = i18n.local_name(language, self.site_name, self.site_name_en)
        return f"{t('ops.one_board', name=name, id=self.id)} · {site} [{self.value}]"


def _sites(
    conn: Conn, user: Principal, match: str, params: dict[str, Any], limit: int
) -> list[Place]:
    return [Place(**r) for r in storage_places.sites(conn, user.scope, match, params, limit)]


def _boards(
    conn: Conn, user: Principal, match: str, params: dict[str, Any], limit: int
) -> list[Place]:
    return [Place(**r) for r in storage_places.boards(conn, user.scope, match, params, limit)]


def search(conn: Conn, user: Principal, text: str, kind: str | None = None) -> list[Place]:
    """At most ``LIMIT`` places in scope whose name (either language), code or
    id contains ``text``, accents and case ignored; sites first."""
    text = text.strip()[:LONGEST].replace("\x00", "")
    if not text:
        return []
    params = _params(text)
    found: list[Place] = []
    if kind in (None, "site"):
        found += _sites(conn, user, "contains", params, LIMIT)
    if kind in (None, "board") and len(found) < LIMIT:
        found += _boards(conn, user, "contains", params, LIMIT - len(found))
    return found


def shortlist(
    conn: Conn, user: Principal, *, site_id: int | None = None, sites_only: bool = False
) -> list[Place]:
    """The places a page lists without any search: the site asked for and its
    boards, or the first ``SHORTLIST`` sites in scope by name."""
    params: dict[str, Any] = {"site": site_id}
    if site_id is None:
        return _sites(conn, user, "first", params, SHORTLIST)
    places = _sites(conn, user, "one", params, 1)
    if places and not sites_only:
        places += _boards(conn, user, "of_site", params, SHORTLIST)
    return places


def resolve(
    conn: Conn, user: Principal, text: str, field: str = "where", *, sites_only: bool = False
) -> tuple[int | None, str | None]:
    """What the picker posted as ``(site_id, board_id)``: a token
    (``site:12``, ``… [board:LC-001]``), a site's or board's id, or the exact
    name (accents and case ignored) of exactly one place in scope, else a
    part of a name that only one place in scope has. Invalid
    naming ``field`` otherwise. With ``sites_only`` a name is matched
    against sites alone: every board's name holds its site's, so "Huổi Luông"
    would otherwise match the site and its boards. A token is not checked
    against the scope here: the service the form calls refuses a place
    outside it."""
    typed = text.strip().replace("\x00", "")  # the form bounds its length
    if not typed:
        raise Invalid(f"{field}: choose a site or a board", field=field)
    token = TOKEN.search(typed)
    if token:
        kind, ident = token.groups()
        if kind == "site":
            if ident.isdigit():
                return int(ident), None
        else:
            return None, ident
        raise Invalid(f"{field}: choose a site or a board", field=field)
    params = _params(typed)
    sites = _sites(conn, user, "exactly", params, 2)
    boards = [] if sites_only else _boards(conn, user, "exactly", params, 2)
    exact_board = [b for b in boards if b.id == typed]
    found = exact_board or (sites + boards)
    if not found:
        # Part of a name, as the picker's hint invites ("pa nam cum" for
        # "Cửa khẩu Pa Nậm Cúm"): taken when it names one place only.
        found = _sites(conn, user, "contains", params, 2)
        if len(found) < 2 and not sites_only:
            found += _boards(conn, user, "contains", params, 2 - len(found))
    if not found:
        what = "site" if sites_only else "site or board"
        raise Invalid(f"{field}: no {what} in your scope matches this", field=field)
    if len(found) > 1:
        raise Invalid(f"{field}: several places match this; choose one from the list", field=field)
    place = found[0]
    return (int(place.id), None) if place.kind == "site" else (None, place.id)


@router.get("/search/places")
def search_places(
    request: Request,
    conn: Db,
    user: Reader,
    q: Annotated[str, Query(max_length=LONGEST * 4)] = "",
    kind: Annotated[Literal["site", "board"] | None, Query()] = None,
) -> JSONResponse:
    """Suggestions for the picker: ``{"items": [{"value", "label", "kind"}]}``,
    only places in the caller's scope (an empty list otherwise)."""
    if not (user.can("board.read") or user.can("incident.report")):
        raise Problem(403, f"the {user.role} role may not search places", kind="forbidden")
    language = language_of(request, user)
    items = [
        {"value": p.value, "label": p.label(language), "kind": p.kind}
        for p in search(conn, user, q, kind)
    ]
    return JSONResponse({"items": items}, headers={"Cache-Control": "private, no-store"})


def sites_named(conn: Conn, user: Principal, ids: set[int]) -> dict[int, Place]:
    """The sites among ``ids`` the caller sees, by id (for rows naming their site)."""
    if not ids:
        return {}
    found = _sites(conn, user, "among", {"ids": sorted(ids)}, len(ids))
    return {int(p.id): p for p in found}


def site_of_board(conn: Conn, user: Principal, board_id: str) -> int | None:
    """The site of a board in scope (None: no such board the caller sees)."""
    found = _boards(conn, user, "one", {"board": board_id}, 1)
    return found[0].site_id if found else None


#: How many site pickers a form offers where several sites may be chosen.
MANY = 3
#: One of several pickers' texts, as posted (a form's list of them).
PickedText = Annotated[str, Longest(PICKED)]


def site_picked(conn: Conn, user: Principal, text: str, field: str, *, boards: bool = True) -> int:
    """The site one picker names (``resolve``; a board: its site, or with
    ``boards`` False refused). Invalid naming ``field`` when nothing in
    scope matches."""
    try:
        site_id, board_id = resolve(conn, user, text, field, sites_only=True)
    except Invalid:
        if not boards:
            raise
        # no site by that name: a board's names its site
        site_id, board_id = resolve(conn, user, text, field)
    if board_id is not None:
        if not boards:
            raise Invalid(f"{field}: choose a site, not a board", field=field)
        site_id = site_of_board(conn, user, board_id)
    if site_id is None:
        raise Invalid(f"{field}: no site or board in your scope matches this", field=field)
    return site_id


def sites_picked(conn: Conn, user: Principal, texts: Sequence[str], field: str) -> list[int]:
    """The sites several pickers name (``MANY`` inputs named ``field``; blank
    ones left out, each site once, in order; boards refused). A picker refused
    is named by its place among them, as a list's entry is
    (``field.<index>``, from 0: ``site.1`` is the second box), so the form
    marks that box alone."""
    found: list[int] = []
    for index, text in enumerate(texts):
        if text.strip():
            site_id = site_picked(conn, user, text, f"{field}.{index}", boards=False)
            if site_id not in found:
                found.append(site_id)
    return found
