"""Logs and diagnostics on request (issue 19): the bundles boards upload
when asked with ``collect_logs`` (docs/agent.md, "Logs and diagnostics")."""
