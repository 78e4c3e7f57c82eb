"""A :class:`Scope` as SQL conditions on the columns a query names.

Each function returns the condition (``%s`` placeholders) and its parameters;
the caller says which column or alias holds the site id, so nothing here
assumes a table alias."""

from __future__ import annotations

from typing import Any

from fleet_server.access.scope import CAMERA_RULE_PATTERN, Scope

Condition = tuple[str, list[Any]]


def sites_condition(scope: Scope, site_id: str) -> Condition:
    """True for the sites ``scope`` sees; ``site_id`` is the column to test."""
    if scope.province_wide:
        return "TRUE", []
    parts = [f"{site_id} = ANY(%s)"]
    params: list[Any] = [list(scope.site_ids)]
    if scope.camera_guard_organisation_id is not None or scope.camera_incidents_only:
        parts.append(f"{site_id} IN (SELECT id FROM sites WHERE camera_guard_organisation_id = %s)")
        params.append(scope.camera_guard_organisation_id)
    if scope.organisation_id is not None:
        parts.append(f"{site_id} IN (SELECT id FROM sites WHERE organisation_id = %s)")
        params.append(scope.organisation_id)
    if scope.team:
        parts.append(f"{site_id} IN (SELECT site_id FROM site_teams WHERE team = %s)")
        params.append(scope.team)
    return "(" + " OR ".join(parts) + ")", params


def board_site_condition(scope: Scope, site_id: str) -> Condition:
    """The same answer as :func:`sites_condition`, shaped for a lookup of one
    row by its key (one board): each membership test is a keyed ``EXISTS``
    (a probe of ``sites``' or ``site_teams``' primary key for that row's
    site) instead of ``IN (SELECT ...)``, which PostgreSQL plans as a hash of
    every matching site (an operator's check read all of ``sites``).
    Use :func:`sites_condition` for lists, where the hash pays off."""
    if scope.province_wide:
        return "TRUE", []
    parts = [f"{site_id} = ANY(%s)"]
    params: list[Any] = [list(scope.site_ids)]
    if scope.camera_guard_organisation_id is not None or scope.camera_incidents_only:
        parts.append(
            "EXISTS (SELECT 1 FROM sites scope_s"
            f" WHERE scope_s.id = {site_id} AND scope_s.camera_guard_organisation_id = %s)"
        )
        params.append(scope.camera_guard_organisation_id)
    if scope.organisation_id is not None:
        parts.append(
            "EXISTS (SELECT 1 FROM sites scope_s"
            f" WHERE scope_s.id = {site_id} AND scope_s.organisation_id = %s)"
        )
        params.append(scope.organisation_id)
    if scope.team:
        parts.append(
            "EXISTS (SELECT 1 FROM site_teams scope_t"
            f" WHERE scope_t.site_id = {site_id} AND scope_t.team = %s)"
        )
        params.append(scope.team)
    return "(" + " OR ".join(parts) + ")", params


def incidents_condition(
    scope: Scope,
    site_id: str,
    rule: str,
    reported_by: str | None = None,
    *,
    one_row: bool = False,
) -> Condition:
    """Incidents ``scope`` sees: by site, and for the Border Guard only the
    camera rules and the incidents the account reported itself. ``site_id``,
    ``rule`` and ``reported_by`` name the incident's columns (the last by
    default the ``reported_by`` beside ``rule``). ``one_row``: for a lookup
    of one incident by its key (the sites tested as :func:`board_site_condition`
    does, keyed probes instead of a hash of every site in scope)."""
    clause, params = (board_site_condition if one_row else sites_condition)(scope, site_id)
    if scope.camera_incidents_only:
        if scope.reporter is None:
            return f"{clause} AND {rule} LIKE %s", [*params, CAMERA_RULE_PATTERN]
        table = rule.rpartition(".")[0]
        reporter = reported_by or (f"{table}.reported_by" if table else "reported_by")
        return (
            f"{clause} AND ({rule} LIKE %s OR {reporter} = %s)",
            [*params, CAMERA_RULE_PATTERN, scope.reporter],
        )
    return clause, params


def tickets_condition(scope: Scope, site_id: str, assignee: str, team: str) -> Condition:
    """Tickets ``scope`` sees. Technicians: assigned to them or to their team,
    at a site they see (a ticket somehow given to them elsewhere stays out of
    reach); others: by site."""
    sites, params = sites_condition(scope, site_id)
    if scope.ticket_assignee is not None:
        return (
            f"({assignee} = %s OR ({team} IS NOT NULL AND {team} = %s)) AND {sites}",
            [scope.ticket_assignee, scope.team, *params],
        )
    return sites, params
