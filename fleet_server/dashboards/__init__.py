"""Grafana as code: ``fleet-server dashboards push`` puts the fleet's folder,
data sources and every dashboard of ``dashboards/grafana/dashboards/`` into a
running Grafana over its HTTP API (docs/deployment.md).

Only argparse is imported by the CLI; the work lives in ``push.py``.
"""

from __future__ import annotations
