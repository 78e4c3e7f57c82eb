"""Availability of boards, sites and organisations over a period.

Computed in SQL, once (migration 0016, docs/availability.md), and read
from there by the reports, the API and the Grafana dashboards."""
