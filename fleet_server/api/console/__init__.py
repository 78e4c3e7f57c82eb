"""The web console (server-rendered pages under ``/``).

Pages, forms and the live fragments are plain routes on the same app as the
REST API, using the same data functions and the same session table. Static
files (CSS, JS, icon) are served from the package: nothing is loaded from
another host, and the Content-Security-Policy says so.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Awaitable, Callable
from http import HTTPStatus
from typing import Any
from urllib.parse import urlencode

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import PlainTextResponse, RedirectResponse, Response
from starlette.datastructures import MutableHeaders
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from fleet_server.api.console import i18n, web
from fleet_server.api.console.assets import VersionedStatic
from fleet_server.api.console.web import STATIC, LoginRequired, language_of, login_url, render
from fleet_server.api.problems import Problem, problem_response
from fleet_server.errors import Invalid, RequestError

log = logging.getLogger(__name__)

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:;"
    " connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none';"
    " form-action 'self'; frame-ancestors 'none'"
)
#: Prefixes that are not console pages: errors there stay problem+json.
NOT_CONSOLE = ("/api/", "/static/", "/healthz", "/readyz")
#: Live fragments answer 401 instead of redirecting to the login form.
FRAGMENTS = "/live/"

Handler = Callable[[Request, Any], Response | Awaitable[Response]]


async def _delegate(handler: Handler, request: Request, exc: Exception) -> Response:
    """Call the API's own handler (sync or async) for a non-console path."""
    answer = handler(request, exc)
    return await answer if inspect.isawaitable(answer) else answer


class SecurityHeaders:
    """Headers on every response, the OpenAPI page included (Swagger UI is
    served by the app and started by a script file: ``api/docs_page.py``).
    Paths in ``exempt`` go without the CSP (none today)."""

    def __init__(self, app: ASGIApp, exempt: frozenset[str]) -> None:
        self.app = app
        self.exempt = exempt

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        exempt = scope["path"] in self.exempt

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                if not exempt:
                    headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
                headers.setdefault("X-Frame-Options", "DENY")
                headers.setdefault("X-Content-Type-Options", "nosniff")
                headers.setdefault("Referrer-Policy", "same-origin")
                headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
            await send(message)

        await self.app(scope, receive, send_with_headers)


def is_console(request: Request) -> bool:
    return not request.url.path.startswith(NOT_CONSOLE)


def error_page(
    request: Request,
    status: int,
    *,
    kind: str | None = None,
    detail: str | None = None,
    typed: str | None = None,
) -> Response:
    """A friendly page in the reader's language (no account menu: the page
    may be answering a request whose session is the problem); ``detail``
    names what was wrong with a form, ``typed`` what was typed in its
    field (to copy). A form's refusal links back to the form's page, which
    the browser shows again as it was left (console.js)."""
    t = i18n.translator(language_of(request, None))
    key = f"error.{status}.{kind}" if kind and i18n.known(f"error.{status}.{kind}") else None
    key = key or (f"error.{status}" if i18n.known(f"error.{status}") else "error.other")
    context = {
        "status": status,
        "message": t(key),
        "detail": detail,
        "home": "/",
        "typed": typed,
        "posted_to": request.url.path if request.method == "POST" else None,
    }
    return render(request, "error.html", None, context, status=status)


def _invalid_detail(request: Request, exc: Invalid) -> str:
    """A bad value's field (its label) and reason, in the reader's language."""
    from fleet_server.api.console import forms  # noqa: PLC0415 - forms needs the app's modules

    t = i18n.translator(language_of(request, None))
    field = forms.field_of(exc)
    text, worded = forms.reason(exc.detail, field)
    reason = t(worded[0], **worded[1]) if worded else text
    if not field or field == "form":
        return reason
    key = forms.label_key(field)
    return f"{t(key) if key else i18n.humanize(field)}: {reason}"


async def _form_typed(request: Request, exc: RequestValidationError) -> str | None:
    """What was typed in the form field the route refused (never a secret),
    as the page can show it; None: no typed field is at fault."""
    from fleet_server.api.console import forms  # noqa: PLC0415 - forms needs the app's modules

    for err in exc.errors():
        loc = err.get("loc", ())
        hidden = forms.SECRET_FIELDS | {"csrf_token"}
        if len(loc) >= 2 and loc[0] == "body" and str(loc[1]) not in hidden:
            values = (await request.form()).getlist(str(loc[1]))
            texts = [v for v in values if isinstance(v, str)]
            return str(forms.shown_again("\n".join(texts))) if any(texts) else None
    return None


def _form_detail(request: Request, exc: RequestValidationError) -> str | None:
    """A form field the route itself refused (too long, not a number: a
    value no form sends as typed) by its label, with the reason, in the
    reader's language; None when no form field is at fault."""
    for err in exc.errors():
        loc = err.get("loc", ())
        if len(loc) >= 2 and loc[0] == "body":
            field = str(loc[1])
            return _invalid_detail(request, Invalid(f"{field}: {err.get('msg', '')}", field=field))
    return None


def _stale_position(request: Request, refused_cursor: bool) -> bool:
    """A console list page refused for its ``cursor`` query parameter."""
    return (
        refused_cursor
        and request.method == "GET"
        and "cursor" in request.query_params
        and not request.url.path.startswith(FRAGMENTS)  # a live region says so instead
    )


def _first_page(request: Request) -> Response:
    """A list link whose position no longer reads (an old bookmark, a cut-off
    URL, hand-edited): the list's first page, its filters kept."""
    kept = [(k, v) for k, v in request.query_params.multi_items() if k != "cursor"]
    return RedirectResponse(
        request.url.path + ("?" + urlencode(kept) if kept else ""), status_code=303
    )


def _install_error_pages(app: FastAPI) -> None:
    api_problem: Handler = app.exception_handlers[Problem]
    api_refused: Handler = app.exception_handlers[RequestError]
    api_http: Handler = app.exception_handlers[StarletteHTTPException]
    api_invalid: Handler = app.exception_handlers[RequestValidationError]
    api_crash: Handler | None = app.exception_handlers.get(Exception)

    @app.exception_handler(Problem)
    async def on_problem(request: Request, exc: Problem) -> Response:
        if not is_console(request):
            return await _delegate(api_problem, request, exc)
        page = error_page(request, exc.status, kind=exc.kind)
        page.headers.update(exc.headers)
        return page

    @app.exception_handler(RequestError)
    async def on_refused(request: Request, exc: RequestError) -> Response:
        if not is_console(request):
            return await _delegate(api_refused, request, exc)
        if _stale_position(request, isinstance(exc, Invalid) and exc.field == "cursor"):
            return _first_page(request)
        # A form's bad value is named (by its label, in the reader's words)
        # where a form did not come back itself (forms.refused); other
        # refusals keep to their page message (no hint of what exists).
        detail = _invalid_detail(request, exc) if isinstance(exc, Invalid) else None
        return error_page(request, exc.status, kind=exc.kind, detail=detail)

    @app.exception_handler(StarletteHTTPException)
    async def on_http(request: Request, exc: StarletteHTTPException) -> Response:
        if not is_console(request):
            return await _delegate(api_http, request, exc)
        return error_page(request, exc.status_code)

    @app.exception_handler(RequestValidationError)
    async def on_invalid(request: Request, exc: RequestValidationError) -> Response:
        if not is_console(request):
            return await _delegate(api_invalid, request, exc)
        # A malformed id in the path is a page that does not exist.
        in_path = any(err.get("loc", ("",))[0] == "path" for err in exc.errors())
        if in_path:
            return error_page(request, 404)
        cursor = any(tuple(err.get("loc", ())) == ("query", "cursor") for err in exc.errors())
        if _stale_position(request, cursor):
            return _first_page(request)
        detail = _form_detail(request, exc)
        return error_page(request, 400, detail=detail, typed=await _form_typed(request, exc))

    @app.exception_handler(LoginRequired)
    async def on_login_required(request: Request, _exc: LoginRequired) -> Response:
        if request.url.path.startswith(FRAGMENTS):
            return PlainTextResponse("session ended", status_code=401)
        if not is_console(request):
            return problem_response(request, 401, "authentication required", kind="unauthorized")
        return RedirectResponse(login_url(request), status_code=303)

    @app.exception_handler(Exception)
    async def on_crash(request: Request, exc: Exception) -> Response:
        log.error("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
        if is_console(request):
            return error_page(request, 500)
        if api_crash is not None:
            return await _delegate(api_crash, request, exc)
        return problem_response(request, 500, HTTPStatus(500).phrase)


def mount(app: FastAPI) -> None:
    """Add the console's pages, fragments and static files to ``app``."""
    from fleet_server.api.console import (  # noqa: PLC0415 - routes after the app exists
        account,
        admin_boards,
        admin_boards_import,
        admin_contacts,
        admin_routes,
        admin_users,
        audit_page,
        board_tags,
        boards,
        cameras,
        content,
        content_suppliers,
        data_budget_form,
        data_usage_page,
        incidents,
        kill_switch,
        live,
        log_forms,
        maintenance_page,
        notices,
        overview,
        picture_forms,
        place_search,
        preventive_page,
        releases_page,
        reports_budget,
        reports_page,
        rules_page,
        session,
        ticket_new,
        tickets,
        windows_forms,
    )

    # ticket_new first: /tickets/new is not a ticket's id
    for module in (session, overview, boards, incidents, ticket_new, tickets, cameras, audit_page):
        app.include_router(module.router)
    app.include_router(live.router)
    app.include_router(place_search.router)
    for ops_page in (maintenance_page, preventive_page, rules_page):
        app.include_router(ops_page.router)
    app.include_router(content.router)
    app.include_router(content_suppliers.router)
    app.include_router(windows_forms.router)  # the site and board pages' windows
    app.include_router(reports_page.router)
    app.include_router(reports_budget.router)
    app.include_router(kill_switch.router)
    app.include_router(picture_forms.router)
    app.include_router(log_forms.router)
    app.include_router(board_tags.router)
    app.include_router(account.router)
    app.include_router(notices.router)
    app.include_router(releases_page.router)
    app.include_router(data_usage_page.router)
    app.include_router(data_budget_form.router)
    for admin_page in (admin_contacts, admin_routes, admin_users, admin_boards_import):
        app.include_router(admin_page.router)
    app.include_router(admin_boards.router)  # after the import: /admin/boards/{board_id}
    app.mount("/static", VersionedStatic(directory=STATIC), name="static")
    web.compile_templates()
    # Every page keeps the CSP, /api/v1/docs too (api/docs_page.py).
    app.add_middleware(SecurityHeaders, exempt=frozenset())
    _install_error_pages(app)
