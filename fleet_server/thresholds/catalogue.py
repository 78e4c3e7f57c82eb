"""The rules whose thresholds may be overridden, built from the engine's own
defaults so the two never disagree. ``content_unapproved`` is not here: it
is judged at once on every pass with its defaults (Điều 9.3), and
``network_degraded``'s averaging window is fixed (the engine reads it once
for every board)."""

from __future__ import annotations

from dataclasses import asdict

from fleet_server.engine.rules import RuleSettings
from fleet_server.engine.telemetry_rules import DEFAULTS
from fleet_server.incidents.titles import RULES as NAMES
from fleet_server.thresholds.models import LEVELS, Pair, Param, RuleEntry

#: Telemetry thresholds that are not overridable.
FIXED = {("network_degraded", "window_s")}
NOT_OVERRIDABLE = {"content_unapproved"}

_HOLDS = (Param("for_s", "seconds"), Param("clear_for_s", "seconds"))
_SEVERITY = Param("severity", "severity")

#: Each telemetry threshold's unit and range, by rule and name.
_TELEMETRY: dict[tuple[str, str], Param] = {
    ("battery_low", "open_below"): Param("open_below", "percent", 0, 100),
    ("battery_low", "clear_above"): Param("clear_above", "percent", 0, 100),
    ("network_degraded", "loss_open"): Param("loss_open", "percent", 0, 100),
    ("network_degraded", "loss_clear"): Param("loss_clear", "percent", 0, 100),
    ("network_degraded", "rtt_open_ms"): Param("rtt_open_ms", "ms", 1, 60_000),
    ("network_degraded", "rtt_clear_ms"): Param("rtt_clear_ms", "ms", 1, 60_000),
    ("clock_skew", "max_skew_s"): Param("max_skew_s", "seconds", 1, 86_400),
    ("disk_full", "open_above"): Param("open_above", "percent", 0, 100),
    ("disk_full", "clear_below"): Param("clear_below", "percent", 0, 100),
    ("overheating", "open_above"): Param("open_above", "celsius", 0, 150),
    ("overheating", "clear_below"): Param("clear_below", "celsius", 0, 150),
    ("agent_restarting", "boots_per_hour"): Param("boots_per_hour", "count", 1, 100, True),
    # the forecast finding clears once the forecast is back under this share of the budget
    ("data_budget_forecast", "clear_percent"): Param("clear_percent", "percent", 50, 100),
}

_PAIRS: dict[str, tuple[Pair, ...]] = {
    "battery_low": (Pair("open_below", "clear_above", above=False),),
    "network_degraded": (
        Pair("loss_open", "loss_clear", above=True),
        Pair("rtt_open_ms", "rtt_clear_ms", above=True),
    ),
    "disk_full": (Pair("open_above", "clear_below", above=True),),
    "overheating": (Pair("open_above", "clear_below", above=True),),
}

#: The connectivity rules (engine/rules.py ``RuleSettings``): their holds only.
CONNECTIVITY = ("board_lost", "board_stale", "site_outage")


def _telemetry_param(rule: str, name: str) -> Param | None:
    if name in ("for_s", "clear_for_s"):
        return Param(name, "seconds")
    if name == "severity":
        return _SEVERITY
    return _TELEMETRY.get((rule, name))


def undescribed() -> list[tuple[str, str]]:
    """Telemetry defaults with no unit and range here (and not fixed): a
    rule's new threshold must be described before it can be overridden."""
    return [
        (rule, name)
        for rule, values in DEFAULTS.items()
        if rule not in NOT_OVERRIDABLE
        for name in values
        if (rule, name) not in FIXED and _telemetry_param(rule, name) is None
    ]


def build() -> dict[str, RuleEntry]:
    entries: dict[str, RuleEntry] = {}
    settings = RuleSettings()
    for rule in CONNECTIVITY:
        vi, en = NAMES[rule]
        timing = asdict(getattr(settings, rule))
        entries[rule] = RuleEntry(
            rule,
            vi,
            en,
            "connectivity",
            _HOLDS,
            {"for_s": timing["for_s"], "clear_for_s": timing["clear_for_s"]},
            # a site outage is a site's: a board has no say in it
            levels=("organisation", "site") if rule == "site_outage" else LEVELS,
        )
    for rule, values in DEFAULTS.items():
        if rule in NOT_OVERRIDABLE:
            continue
        params = tuple(
            p
            for name in values
            if (rule, name) not in FIXED and (p := _telemetry_param(rule, name)) is not None
        )
        defaults = {p.name: values[p.name] for p in params}
        vi, en = NAMES[rule]
        entries[rule] = RuleEntry(
            rule, vi, en, "telemetry", params, defaults, pairs=_PAIRS.get(rule, ())
        )
    return entries


#: rule -> what may be overridden, in the order of docs/engine.md.
CATALOGUE: dict[str, RuleEntry] = build()
