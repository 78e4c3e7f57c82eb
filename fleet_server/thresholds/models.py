"""What a rule override may say (domain rules only: no SQL, no HTTP).

Each rule's thresholds are described once (:class:`Param`: unit, range,
whole number or not); :func:`check` refuses an unknown rule, a threshold the
rule does not have, a value of the wrong type or out of range, an open and
clear pair the wrong way round (the clear threshold is on the calm side of
the open one, so a reading at the limit does not flap), and a target the
rule has no meaning for. The defaults themselves live with the rules
(``engine.rules.RuleSettings``, ``engine.telemetry_rules.DEFAULTS``): the
catalogue is built from them in ``thresholds/catalogue.py``."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from fleet_server.errors import Invalid
from fleet_server.vocabulary import SEVERITIES

Unit = Literal["seconds", "percent", "ms", "celsius", "count", "severity"]
Level = Literal["organisation", "site", "board"]
LEVELS: tuple[Level, ...] = ("organisation", "site", "board")
#: A week: longer than that, a hold is a typing error.
MAX_HOLD_S = 7 * 86_400


@dataclass(frozen=True, slots=True)
class Param:
    """One threshold of a rule: its unit and the values it may take."""

    name: str
    unit: Unit
    low: float = 0
    high: float = MAX_HOLD_S
    integer: bool = False


@dataclass(frozen=True, slots=True)
class Pair:
    """An open threshold and its clear threshold. ``above``: the condition
    holds above the open value, so clearing must be at or below it."""

    open: str
    clear: str
    above: bool


@dataclass(frozen=True, slots=True)
class RuleEntry:
    """A rule that may be overridden: its names, thresholds and defaults."""

    rule: str
    title_vi: str
    title_en: str
    #: ``connectivity`` (engine/rules.py) or ``telemetry`` (telemetry_rules.py)
    kind: Literal["connectivity", "telemetry"]
    params: tuple[Param, ...]
    defaults: Mapping[str, Any]
    levels: tuple[Level, ...] = LEVELS
    pairs: tuple[Pair, ...] = ()

    def param(self, name: str) -> Param | None:
        return next((p for p in self.params if p.name == name), None)


def _value(entry: RuleEntry, param: Param, value: object) -> float | int | str:
    field = f"params.{param.name}"
    if param.unit == "severity":
        if value not in SEVERITIES:
            raise Invalid(
                f"{field}: {value!r} is not a severity; one of: {', '.join(SEVERITIES)}",
                field=field,
            )
        return str(value)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise Invalid(f"{field}: {value!r} is not a number", field=field)
    if param.integer and value != int(value):
        raise Invalid(f"{field}: {value!r} is not a whole number", field=field)
    if not param.low <= value <= param.high:
        raise Invalid(
            f"{field}: {value:g} is outside {param.low:g}..{param.high:g} ({param.unit})",
            field=field,
        )
    return int(value) if param.integer or value == int(value) else float(value)


def check(
    catalogue: Mapping[str, RuleEntry], rule: str, level: Level, params: Mapping[str, object]
) -> dict[str, Any]:
    """The override's parameters, checked and normalised (whole numbers as
    ints); Invalid naming the first thing wrong."""
    entry = catalogue.get(rule)
    if entry is None:
        raise Invalid(
            f"rule: unknown rule {rule!r}; one of: {', '.join(sorted(catalogue))}", field="rule"
        )
    if level not in entry.levels:
        raise Invalid(
            f"{level}_id: rule {rule} is not set per {level}; per {' or '.join(entry.levels)}",
            field=f"{level}_id",
        )
    if not params:
        raise Invalid("params: give at least one threshold", field="params")
    checked: dict[str, Any] = {}
    for name, value in params.items():
        param = entry.param(name)
        if param is None:
            names = ", ".join(p.name for p in entry.params)
            raise Invalid(
                f"params.{name}: rule {rule} has no threshold {name!r}; its thresholds: {names}",
                field=f"params.{name}",
            )
        checked[name] = _value(entry, param, value)
    merged = {**entry.defaults, **checked}
    for pair in entry.pairs:
        opens, clears = float(merged[pair.open]), float(merged[pair.clear])
        if (clears > opens) if pair.above else (clears < opens):
            side = "above" if pair.above else "below"
            raise Invalid(
                f"params.{pair.clear}: {clears:g} would clear on the wrong side of"
                f" {pair.open} {opens:g} (the condition holds {side} it)",
                field=f"params.{pair.clear}",
            )
    return checked
