"""Maintenance windows: planned work on a site or a board. Incidents are
still recorded during a window; their notifications are held until it ends
(the engine asks :func:`fleet_server.maintenance.service.maintenance_until`)."""
