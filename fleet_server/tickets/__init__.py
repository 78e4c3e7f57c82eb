"""Maintenance tickets: corrective, preventive and inspection work at a site."""
