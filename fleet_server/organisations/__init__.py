"""Organisations and their sites, and each site's health as the overview
and the map show it."""
