"""What every console page shares: the templates, the signed-in user, the
language, CSRF on forms, redirects to the login page, and rendering.

Pages are plain HTML rendered on the server. The same data functions as the
REST API are used, so scoping (organisation, site, Border Guard) is decided in
one place; a page refuses with the same 403/404 the API would give, rendered as
an HTML error page in the reader's language.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from functools import cache
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote, urlencode, urlsplit

from fastapi import Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from markupsafe import Markup

from fleet_server.access.principal import Principal
from fleet_server.api.console import assets, i18n, svg, wording
from fleet_server.api.console.folded_words import FoldedWords
from fleet_server.api.deps import ApiContext, check_csrf, masked_csrf, optional_principal
from fleet_server.api.guards import checks
from fleet_server.api.problems import Problem
from fleet_server.organisations.models import HEALTHS
from fleet_server.vocabulary import LANGUAGES

HERE = Path(__file__).parent
TEMPLATES = HERE / "templates"
STATIC = HERE / "static"
LANG_COOKIE = "lang"
LOGIN_CSRF_COOKIE = "fleet_login_csrf"
#: How often the browser refreshes live regions (``app.state.console_live_period_s``).
LIVE_PERIOD_S = 10.0
CSRF_FIELD = "csrf_token"


class LoginRequired(Exception):
    """No live session: pages go to the login form, fragments answer 401."""


def _environment(language: str) -> Environment:
    """The templates with ``language``'s fixed words folded in (``folded_words``)."""
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        extensions=[FoldedWords],
        autoescape=select_autoescape(["html"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        auto_reload=False,
    )
    env.words_language = language  # type: ignore[attr-defined]
    env.filters.update(wording.FILTERS)
    env.globals["static_url"] = static_url
    return env


@cache
def static_url(name: str) -> str:
    """A static file's URL with its version (``assets``): cached until it
    changes. Kept per name: the files do not change while a process runs
    (their hashes are read once), and resolving the path on each of a
    page's three or four links was 2 % of a console page's CPU."""
    return f"/static/{name}?v={assets.version(STATIC, name)}"


#: One environment a language: each compiles the templates with its words.
ENVS: dict[str, Environment] = {language: _environment(language) for language in LANGUAGES}
ENV = ENVS[i18n.DEFAULT]


def compile_templates() -> None:
    """Compile every template now, not at its page's first request: the
    process then freezes what it made at start-up out of the collector's
    view (api/interpreter.py), and compiled templates are the bulk of
    what a console process would otherwise make later and keep."""
    for env in ENVS.values():
        for name in env.list_templates(filter_func=lambda n: n.endswith(".html")):
            env.get_template(name)


# -- who is asking ----------------------------------------------------------------


async def _maybe_user(
    principal: Annotated[Principal | None, Depends(optional_principal)],
) -> Principal | None:
    return principal


MaybeUser = Annotated[Principal | None, Depends(_maybe_user)]


async def _signed_in(principal: MaybeUser) -> Principal:
    if principal is None:
        raise LoginRequired
    return principal


Viewer = Annotated[Principal, Depends(_signed_in)]


def page_for(*capabilities: str) -> Callable[[Principal], Awaitable[Principal]]:
    """A dependency: the signed-in user, if their role may do each of
    ``capabilities``."""

    async def dependency(user: Viewer) -> Principal:
        if not all(user.can(c) for c in capabilities):
            raise Problem(403, f"the {user.role} role may not see this page", kind="forbidden")
        return user

    return checks(dependency, *capabilities)


def form_for(capability: str) -> Callable[..., Awaitable[Principal]]:
    """A dependency for a form post: signed in, allowed, and the form's CSRF
    token matches the session's."""

    async def dependency(
        user: Viewer,
        csrf_token: Annotated[str | None, Form(max_length=200)] = None,
    ) -> Principal:
        check_csrf(user, csrf_token)
        if not user.can(capability):
            raise Problem(403, f"the {user.role} role may not do this", kind="forbidden")
        return user

    return checks(dependency, capability)


# -- language ------------------------------------------------------------------------


def language_of(request: Request, user: Principal | None) -> str:
    """``?lang=`` first, then the ``lang`` cookie, then the account's
    language, then Vietnamese."""
    for candidate in (request.query_params.get("lang"), request.cookies.get(LANG_COOKIE)):
        if candidate in LANGUAGES:
            return candidate
    if user is not None and user.language in LANGUAGES:
        return user.language
    return i18n.DEFAULT


def remember_language(request: Request, response: Response) -> None:
    chosen = request.query_params.get("lang")
    if chosen in LANGUAGES and request.cookies.get(LANG_COOKIE) != chosen:
        response.set_cookie(
            LANG_COOKIE,
            chosen,
            max_age=365 * 86_400,
            httponly=True,
            samesite="lax",
            secure=cookie_secure(request),
        )


# -- navigation ----------------------------------------------------------------------


def may_see_incidents(user: Principal) -> bool:
    """The incident queue is for the roles that see whole boards; the Border
    Guard sees its camera incidents on the cameras page instead."""
    return user.can("incident.read") and user.can("board.read")


#: (path, label key, who may open it) in menu order.
MENU: tuple[tuple[str, str, Callable[[Principal], bool]], ...] = (
    ("/", "nav.overview", lambda u: u.can("board.read")),
    ("/incidents", "nav.incidents", may_see_incidents),
    ("/tickets", "nav.tickets", lambda u: u.can("ticket.read")),
    # maintenance windows and preventive schedules: one entry, tabs on the pages
    ("/maintenance", "nav.maintenance", lambda u: u.can("maintenance.read")),
    ("/cameras", "nav.cameras", lambda u: u.can("camera.read")),
    ("/content", "nav.content", lambda u: u.can("content.read")),
    ("/content/submissions", "nav.submissions", lambda u: u.can("content.submit")),
    ("/reports", "nav.reports", lambda u: u.can("compliance.read")),
    ("/notices", "nav.notices", lambda u: u.can("notice.read")),
    ("/rules", "nav.rules", lambda u: u.can("rule.read")),
    ("/audit", "nav.audit", lambda u: u.can("audit.read")),
    ("/releases", "nav.releases", lambda u: u.can("release.manage")),
    ("/data-usage", "nav.data_usage", lambda u: u.can("telemetry.read")),
    # contacts, routes, accounts, provisioning: one entry, tabs on the pages
    ("/admin/contacts", "nav.admin", lambda u: u.can("route.read")),
    ("/admin/boards", "nav.admin", lambda u: u.can("board.provision") and not u.can("route.read")),
)


def menu_for(user: Principal) -> list[tuple[str, str]]:
    return [(path, label) for path, label, allowed in MENU if allowed(user)]


def home_for(user: Principal) -> str:
    if user.can("board.read"):
        return "/"
    # a supplying unit's account sees its submissions only (Điều 10.1)
    return "/cameras" if user.can("camera.read") else "/content/submissions"


def safe_next(target: str | None) -> str:
    """Only a path on this site: no scheme, no host, no ``//`` or ``/\\``."""
    if not target or not target.startswith("/") or target.startswith(("//", "/\\")):
        return "/"
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or any(ord(c) < 32 for c in target):
        return "/"
    return target


def login_url(request: Request) -> str:
    here = request.url.path
    if request.url.query:
        here += "?" + request.url.query
    return "/login" if here == "/" else "/login?next=" + quote(here, safe="")


def cookie_secure(request: Request) -> bool:
    ctx: ApiContext = request.app.state.ctx
    configured = ctx.settings.api_cookie_secure
    if configured is not None:
        return configured
    return ctx.settings.environment == "production" or request.url.scheme == "https"


#: The query parameter that carries a confirmation to the page a form returns to,
#: and the one that carries its number (``{n}`` in the message).
FLASH = "flash"
FLASH_COUNT = "n"


def redirect(url: str, *, flash: str | None = None, count: int | None = None) -> RedirectResponse:
    """After a form post, always a GET (303). ``flash`` names the
    confirmation the page shows on top (``flash.<name>`` in messages.toml,
    both languages), e.g. ``redirect("/maintenance", flash="maintenance_created")``;
    ``count`` fills its ``{n}`` (how many boards were told…)."""
    if flash is not None:
        if not i18n.known(f"flash.{flash}"):
            raise KeyError(f"no message flash.{flash} in messages.toml")
        path, hash_, fragment = url.partition("#")
        extra = f"&{FLASH_COUNT}={count}" if count is not None else ""
        url = f"{path}{'&' if '?' in path else '?'}{FLASH}={flash}{extra}{hash_}{fragment}"
    return RedirectResponse(url, status_code=303)


def flash_of(request: Request) -> str | None:
    """The confirmation named in the address, when it is one we have words
    for (and its number, when its words need one)."""
    name = request.query_params.get(FLASH, "")
    if not name or not i18n.known(f"flash.{name}"):
        return None
    needs_count = "{n}" in i18n.STRINGS[f"flash.{name}"][0]
    return name if not needs_count or flash_values(request) else None


def flash_values(request: Request) -> dict[str, int]:
    """The confirmation's number (``{n}``), when the address carries one."""
    text = request.query_params.get(FLASH_COUNT, "")
    return {"n": int(text)} if text.isdigit() and len(text) < 7 else {}


# -- rendering -----------------------------------------------------------------------


def _values(
    request: Request, user: Principal | None, language: str, page_path: str
) -> dict[str, Any]:
    """What every template may use. ``page_path`` is the page a fragment
    belongs to, so its links and form return addresses point at the page."""
    ctx: ApiContext = request.app.state.ctx
    t = i18n.translator(language)
    # the confirmation is shown once: not carried into links and the language switch
    query = {k: v for k, v in request.query_params.items() if k not in ("lang", FLASH, FLASH_COUNT)}

    def label(prefix: str, value: object) -> str:
        return i18n.label(language, prefix, value)

    def local_name(name: str | None, name_en: str | None = None) -> str:
        return i18n.local_name(language, name, name_en)

    def markers(site_map: svg.SiteMap) -> Markup:
        words = svg.MarkerWords(
            {h: label("health", h) for h in HEALTHS}, t("site.boards"), t("site.incidents")
        )
        return svg.map_markers(site_map, local_name=local_name, words=words)

    def page_url(offset: int) -> str:
        params = {**query, "offset": str(offset)}
        return page_path + "?" + urlencode(params)

    return {
        "t": t,
        "label": label,
        "local_name": local_name,
        "map_markers": markers,
        "healths": HEALTHS,
        "lang": language,
        "other_lang": "en" if language == "vi" else "vi",
        "user": user,
        "menu": menu_for(user) if user else [],
        "csrf": masked_csrf(user.csrf_token) if user and user.csrf_token else None,
        "flash": flash_of(request),
        "flash_values": flash_values(request),
        "path": page_path,
        "query": query,
        "back": page_path + ("?" + urlencode(query) if query else ""),
        "page_url": page_url,
        "lang_url": lambda lang: page_path + "?" + urlencode({**query, "lang": lang}),
        "now": ctx.clock(),
        "live_period_ms": int(
            1000 * getattr(request.app.state, "console_live_period_s", LIVE_PERIOD_S)
        ),
        # no refused form yet (forms.refused fills these in)
        "error": None,
        "error_field": None,
        "error_form": None,
        "error_label": None,
        "error_text": None,
        "error_reason": None,
        "error_summary": None,
        "form": {},
    }


def _page_path(request: Request) -> str:
    """The page's own address. A refused form is shown again in answer to
    its POST, whose address has no page (405): its links (the language
    switch) go to the page the form was on, as the browser names it
    (Referrer-Policy same-origin), when that is on this host."""
    if request.method == "GET":
        return request.url.path
    came_from = urlsplit(request.headers.get("referer", ""))
    if came_from.netloc == request.url.netloc and came_from.path.startswith("/"):
        return came_from.path
    return request.url.path


def render(
    request: Request,
    template: str,
    user: Principal | None,
    context: Mapping[str, Any] | None = None,
    *,
    status: int = 200,
    lang: str | None = None,
) -> HTMLResponse:
    language = lang or language_of(request, user)
    values = _values(request, user, language, _page_path(request))
    values.update(context or {})
    page = ENVS[language].get_template(template).render(values)
    response = HTMLResponse(page, status_code=status)
    response.headers["Cache-Control"] = "no-store"
    remember_language(request, response)
    return response


def fragment(
    request: Request,
    template: str,
    user: Principal,
    context: Mapping[str, Any],
    *,
    page_path: str,
) -> HTMLResponse:
    """A piece of a page (a live region), rendered on its own."""
    language = language_of(request, user)
    values = _values(request, user, language, page_path)
    values.update(context)
    response = HTMLResponse(ENVS[language].get_template(template).render(values))
    response.headers["Cache-Control"] = "no-store"
    return response
