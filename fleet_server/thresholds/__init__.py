"""Rule thresholds: the per-organisation, per-site and per-board overrides
of the engine's rule defaults (``rule_overrides``), with the catalogue of
what may be overridden and within which range."""
