"""Rule thresholds in the console (``/rules``, administrators): each rule
the engine runs, its thresholds' defaults in words, the overrides set per
organisation, site or board, a form to set one (an empty field keeps the
level above) and a button to clear one. The same service as
``/api/v1/rule-overrides`` (checked the same way, audited); the engine
uses a change on its next pass."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Path, Request
from fastapi.responses import Response

from fleet_server.access.principal import Principal
from fleet_server.api.console import forms, i18n, place_search
from fleet_server.api.console.forms import ALL, PICKED, Longest, checked
from fleet_server.api.console.web import form_for, language_of, page_for, redirect, render
from fleet_server.api.deps import Conn, Db, Now, client_address
from fleet_server.errors import Invalid, RequestError
from fleet_server.organisations.service import list_organisations
from fleet_server.thresholds import service
from fleet_server.thresholds.catalogue import CATALOGUE
from fleet_server.thresholds.models import Param, RuleEntry
from fleet_server.thresholds.schemas import MAX_ID, OverrideIn, OverrideOut

router = APIRouter(include_in_schema=False)

Reader = Annotated[Principal, Depends(page_for("rule.read"))]
Writer = Annotated[Principal, Depends(form_for("rule.write"))]
OverrideId = Annotated[int, Path(ge=1, le=MAX_ID)]
#: Form fields that carry a threshold: ``p_<name>``.
PREFIX = "p_"


def _seconds(number: float, t: i18n.Translate, lang: str) -> str:
    """A hold in the largest whole unit: "ngay lập tức", "2 giờ", "5 phút", "90 giây"."""
    if number == 0:
        return t("threshold.at_once")
    if number % 3600 == 0:
        return t("threshold.hours", n=int(number // 3600))
    if number % 60 == 0:
        return t("threshold.minutes", n=int(number // 60))
    return t(
        "threshold.seconds", n=i18n.format_number(number, lang, 0 if number == int(number) else 1)
    )


def value_words(param: Param, value: Any, t: i18n.Translate, lang: str) -> str:
    """A threshold's value in words: "2 phút", "30 %", "75 °C", "nghiêm trọng"."""
    if param.unit == "severity":
        return i18n.label(lang, "severity", value)
    try:
        number = float(value)
    except (TypeError, ValueError):
        return str(value)  # a value written by hand in SQL; the engine's problem, not the page's
    if param.unit == "seconds":
        return _seconds(number, t, lang)
    shown = i18n.format_number(number, lang, 0 if number == int(number) else 1)
    return t(f"threshold.unit.{param.unit}", n=shown)


def words(
    entry: RuleEntry, params: Mapping[str, Any], t: i18n.Translate, lang: str
) -> list[tuple[str, str]]:
    """(label, value in words) of each threshold ``params`` gives, in the rule's order."""
    return [
        (t(f"threshold.{p.name}"), value_words(p, params[p.name], t, lang))
        for p in entry.params
        if p.name in params
    ]


@router.get("/rules")
def rules_page(request: Request, conn: Db, user: Reader) -> Response:
    return _page(request, conn, user)


def _page(
    request: Request, conn: Conn, user: Principal, refusal: dict[str, Any] | None = None
) -> Response:
    """The rules and their forms; after a refusal (``refusal``), with what
    was typed and why."""
    lang = language_of(request, user)
    t = i18n.translator(lang)
    overrides = service.list_overrides(conn, user)
    by_rule: dict[str, list[tuple[OverrideOut, list[tuple[str, str]]]]] = {}
    for o in overrides:
        entry = CATALOGUE.get(o.rule)
        shown = (
            words(entry, o.params, t, lang) if entry else [(k, str(v)) for k, v in o.params.items()]
        )
        by_rule.setdefault(o.rule, []).append((o, shown))
    writer = user.can("rule.write")
    rules = [
        {
            "entry": e,
            "defaults": words(e, e.defaults, t, lang),
            "overrides": by_rule.get(e.rule, []),
        }
        for e in CATALOGUE.values()
    ]
    return render(
        request,
        "rules.html",
        user,
        {
            "rules": rules,
            "unknown": [o for o in overrides if o.rule not in CATALOGUE],
            "organisations": list_organisations(conn, user, ALL).items if writer else [],
            "places": place_search.shortlist(conn, user) if writer else [],
            **(refusal or {}),
        },
        lang=lang,
    )


async def _posted(request: Request) -> dict[str, str]:
    """The thresholds typed in the form (``p_<name>``), blank ones left out."""
    form = await request.form()
    return {
        str(key)[len(PREFIX) :]: str(value).strip()
        for key, value in form.items()
        if str(key).startswith(PREFIX) and isinstance(value, str) and value.strip()
    }


def _params(entry: RuleEntry | None, typed: Mapping[str, str]) -> dict[str, Any]:
    """Typed text as the API's values: numbers as numbers (a comma is a
    decimal point), severities as they are; the service checks the rest."""
    params: dict[str, Any] = {}
    for name, text in typed.items():
        param = entry.param(name) if entry else None
        if param is not None and param.unit == "severity":
            params[name] = text
            continue
        try:
            number = float(text.replace(",", "."))
        except ValueError:
            raise Invalid(
                f"params.{name}: {text[:20]!r} is not a number", field=f"params.{name}"
            ) from None
        params[name] = int(number) if number == int(number) else number
    return params


def _target(conn: Conn, user: Principal, target: str, place: str) -> dict[str, Any]:
    """The override's target: a place typed in the picker (``place``), or
    ``organisation:<id>`` (``site:<id>`` and ``board:<id>`` too, as the
    select offered them before the picker)."""
    if place.strip():
        if target.strip():
            raise Invalid("target: choose an organisation or a site or board, not both",
                          field="target")  # fmt: skip
        site_id, board_id = place_search.resolve(conn, user, place, "place")
        return {"site_id": site_id} if site_id is not None else {"board_id": board_id}
    kind, _, value = target.strip().partition(":")
    if kind in ("organisation", "site") and value.isdigit():
        return {f"{kind}_id": int(value)}
    if kind == "board" and value:
        return {"board_id": value}
    raise Invalid("target: choose an organisation, a site or a board", field="target")


@router.post("/rules")
def set_threshold(
    request: Request,
    conn: Db,
    now: Now,
    user: Writer,
    typed: Annotated[dict[str, str], Depends(_posted)],
    rule: Annotated[str, Form(), Longest(64)] = "",
    target: Annotated[str, Form(), Longest(100)] = "",
    place: Annotated[str, Form(), Longest(PICKED)] = "",
) -> Response:
    entry = CATALOGUE.get(rule)
    form = {
        "rule": rule,
        "target": target,
        "place": place,
        **{f"{PREFIX}{k}": v for k, v in typed.items()},
    }
    try:
        forms.fit(form)
        where = _target(conn, user, target, place)
        body = checked(OverrideIn, rule=rule, **where, params=_params(entry, typed))
        actor = user.acting_from(client_address(request))
        service.set_override(conn, user, actor, body, now=now)
    except RequestError as exc:
        labels = {"target": "rules.target", "place": "rules.place"}
        for p in entry.params if entry else ():
            labels[f"params.{p.name}"] = labels[f"{PREFIX}{p.name}"] = f"threshold.{p.name}"
        return forms.refused(
            conn, exc, form, lambda ctx: _page(request, conn, user, ctx), f"rule-{rule}", labels
        )
    conn.commit()
    return redirect(f"/rules#rule-{rule}", flash="threshold_set")


@router.post("/rules/overrides/{override_id}/clear")
def clear_threshold(request: Request, conn: Db, user: Writer, override_id: OverrideId) -> Response:
    try:
        actor = user.acting_from(client_address(request))
        cleared = service.clear_override(conn, user, actor, override_id)
    except RequestError as exc:
        return forms.refused(conn, exc, {}, lambda ctx: _page(request, conn, user, ctx))
    conn.commit()
    return redirect(f"/rules#rule-{cleared.rule}", flash="threshold_cleared")
