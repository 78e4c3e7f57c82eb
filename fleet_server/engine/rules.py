"""Connectivity rules: which conditions hold for which board or site, and the
incident each one opens (domain logic; the service stores and acts)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from fleet_server.engine.conditions import Timing
from fleet_server.engine.state import BoardStatus
from fleet_server.engine.storage import BoardPlace
from fleet_server.incidents.models import IncidentSpec
from fleet_server.incidents.titles import titled


@dataclass(frozen=True, slots=True)
class RuleSettings:
    """Defaults; see docs/engine.md. Times in seconds."""

    board_lost: Timing = field(default_factory=lambda: Timing(for_s=0, clear_for_s=60))
    board_stale: Timing = field(default_factory=lambda: Timing(for_s=0, clear_for_s=60))
    site_outage: Timing = field(default_factory=lambda: Timing(for_s=0, clear_for_s=120))
    #: share of a site's boards that must be down for a site incident
    site_share: float = 1.0
    #: they must have gone down within this many seconds of each other
    site_window_s: float = 300.0
    #: a site incident needs at least this many boards at the site
    site_min_boards: int = 2


def board_key(board_id: str, rule: str) -> str:
    return f"board:{board_id}:{rule}"


def site_key(site_id: int, rule: str) -> str:
    return f"site:{site_id}:{rule}"


def board_conditions(status: BoardStatus) -> dict[str, bool]:
    return {"board_lost": status.state == "lost", "board_stale": status.state == "stale"}


def board_spec(rule: str, place: BoardPlace | None, status: BoardStatus) -> IncidentSpec:
    board = status.board_id
    return IncidentSpec(
        dedupe_key=board_key(board, rule),
        rule=rule,
        incident_class="technical",
        severity="major",
        **titled(rule, board=board),
        board_id=board,
        site_id=place.site_id if place else None,
        organisation_id=place.organisation_id if place else None,
        details={
            "state": status.state,
            "reason": status.reason,
            "since": status.since.isoformat(),
            "boot": status.boot,
        },
    )


@dataclass(frozen=True, slots=True)
class SiteOutage:
    site_id: int
    organisation_id: int
    boards: tuple[str, ...]
    cause: str  # power | uplink


def site_outages(
    places: Iterable[BoardPlace],
    statuses: dict[str, BoardStatus],
    mains: dict[str, bool | None],
    settings: RuleSettings,
) -> dict[int, SiteOutage]:
    """Sites where (nearly) every board went lost/stale at about the same time:
    the cause is the site's power or uplink, not N separate boards."""
    by_site: dict[int, list[BoardPlace]] = {}
    for place in places:
        by_site.setdefault(place.site_id, []).append(place)
    outages: dict[int, SiteOutage] = {}
    for site_id, members in by_site.items():
        if len(members) < settings.site_min_boards:
            continue
        down = [
            statuses[p.board_id]
            for p in members
            if p.board_id in statuses and statuses[p.board_id].state in ("lost", "stale")
        ]
        if not down or len(down) / len(members) < settings.site_share:
            continue
        times = [s.since for s in down]
        if (max(times) - min(times)).total_seconds() > settings.site_window_s:
            continue
        known = [mains.get(s.board_id) for s in down if mains.get(s.board_id) is not None]
        cause = (
            "power" if known and sum(1 for m in known if m is False) * 2 > len(known) else "uplink"
        )
        outages[site_id] = SiteOutage(
            site_id, members[0].organisation_id, tuple(sorted(s.board_id for s in down)), cause
        )
    return outages


def site_spec(outage: SiteOutage) -> IncidentSpec:
    return IncidentSpec(
        dedupe_key=site_key(outage.site_id, "site_outage"),
        rule="site_outage",
        incident_class="technical",
        severity="critical",
        **titled(f"site_outage.{outage.cause}", boards=len(outage.boards)),
        site_id=outage.site_id,
        organisation_id=outage.organisation_id,
        details={"cause": outage.cause, "boards": list(outage.boards)},
    )
