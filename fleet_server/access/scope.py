"""Which sites, incidents and tickets an account sees, as a value.

A :class:`Scope` says nothing about SQL or table aliases; ``access.storage``
turns it into conditions on whichever column a query names. An object outside
the caller's scope is answered exactly as if it did not exist
(:class:`fleet_server.errors.NotFound`)."""

from __future__ import annotations

from dataclasses import dataclass

#: Incidents a Border Guard account sees: the camera rules only (a LIKE pattern).
CAMERA_RULE_PATTERN = "camera%"


@dataclass(frozen=True, slots=True)
class Scope:
    #: Admins and the provincial department: every site.
    province_wide: bool = False
    #: Sites given to the account one by one (user_sites).
    site_ids: tuple[int, ...] = ()
    #: The sites of this organisation (operators, technicians, viewers).
    organisation_id: int | None = None
    #: Technicians: the sites their team serves (site_teams).
    team: str | None = None
    #: Border Guard: the sites whose cameras this organisation guards, and of
    #: incidents only the camera rules.
    camera_guard_organisation_id: int | None = None
    camera_incidents_only: bool = False
    #: Border Guard: the account whose own reports (Điều 9.3) it sees as well.
    reporter: str | None = None
    #: Technicians see only tickets assigned to them or to their team.
    ticket_assignee: str | None = None

    @classmethod
    def everything(cls) -> Scope:
        return cls(province_wide=True)

    @classmethod
    def of(
        cls,
        role: str,
        *,
        username: str,
        organisation_id: int | None,
        team: str | None,
        site_ids: tuple[int, ...] = (),
        province_wide: bool = False,
    ) -> Scope:
        """The scope an account of ``role`` has."""
        if role == "border_guard":
            return cls(
                province_wide=province_wide,
                site_ids=site_ids,
                camera_guard_organisation_id=organisation_id,
                camera_incidents_only=True,
                reporter=username,
            )
        technician = role == "technician"
        return cls(
            province_wide=province_wide,
            site_ids=site_ids,
            organisation_id=organisation_id,
            team=team if technician else None,
            ticket_assignee=username if technician else None,
        )
