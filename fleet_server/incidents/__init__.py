"""Incidents: technical, security and compliance problems, with their timeline."""
