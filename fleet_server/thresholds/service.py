"""Rule thresholds: the catalogue of rules and their defaults, and the
overrides an administrator sets per organisation, site or board (the
board's beats its site's, the site's its organisation's). Each change is
audited; the engine reads the overrides on its next pass."""

from __future__ import annotations

from datetime import datetime

from fleet_server.access import audit
from fleet_server.access.principal import Actor, Principal
from fleet_server.errors import NotFound
from fleet_server.thresholds import storage
from fleet_server.thresholds.catalogue import CATALOGUE
from fleet_server.thresholds.models import check
from fleet_server.thresholds.schemas import OverrideIn, OverrideOut, RuleOut, RuleParamOut
from fleet_server.thresholds.storage import Conn


def rules(user: Principal) -> list[RuleOut]:
    """Every rule that may be overridden, with its thresholds' defaults,
    units and ranges."""
    user.need("rule.read")
    return [
        RuleOut(
            rule=e.rule,
            title_vi=e.title_vi,
            title_en=e.title_en,
            kind=e.kind,
            levels=list(e.levels),
            params=[
                RuleParamOut(
                    name=p.name,
                    unit=p.unit,
                    default=e.defaults[p.name],
                    low=None if p.unit == "severity" else p.low,
                    high=None if p.unit == "severity" else p.high,
                    integer=p.integer,
                )
                for p in e.params
            ],
        )
        for e in CATALOGUE.values()
    ]


def list_overrides(
    conn: Conn,
    user: Principal,
    *,
    rule: str | None = None,
    organisation_id: int | None = None,
    site_id: int | None = None,
    board_id: str | None = None,
) -> list[OverrideOut]:
    user.need("rule.read")
    return storage.list_overrides(
        conn, rule=rule, organisation_id=organisation_id, site_id=site_id, board_id=board_id
    )


def get_override(conn: Conn, user: Principal, override_id: int) -> OverrideOut:
    user.need("rule.read")
    found = storage.get(conn, override_id)
    if found is None:
        raise NotFound("rule override", override_id)
    return found


def set_override(
    conn: Conn, user: Principal, actor: Actor, body: OverrideIn, *, now: datetime
) -> OverrideOut:
    """Set the rule's thresholds for the target (replacing its earlier
    override of the rule); 400 naming what is wrong, 404 for a target that
    does not exist."""
    user.need("rule.write")
    params = check(CATALOGUE, body.rule, body.level, body.params)
    target = (body.organisation_id, body.site_id, body.board_id)
    if not storage.target_exists(conn, *target):
        raise NotFound(body.level, next(v for v in target if v is not None))
    before = storage.find(conn, body.rule, *target)
    override_id = storage.upsert(
        conn,
        rule=body.rule,
        organisation_id=body.organisation_id,
        site_id=body.site_id,
        board_id=body.board_id,
        params=params,
        actor=actor.username,
        now=now,
    )
    after = get_override(conn, user, override_id)
    audit.record(
        conn,
        actor,
        "rule_override.set",
        target_type="rule_override",
        target_id=override_id,
        before=before,
        after=after,
    )
    return after


def clear_override(conn: Conn, user: Principal, actor: Actor, override_id: int) -> OverrideOut:
    """Remove the override: the target follows the next level up again."""
    user.need("rule.write")
    before = storage.get(conn, override_id, lock=True)
    if before is None:
        raise NotFound("rule override", override_id)
    storage.delete(conn, override_id)
    audit.record(
        conn,
        actor,
        "rule_override.clear",
        target_type="rule_override",
        target_id=override_id,
        before=before,
    )
    return before
