"""The 4G data budget: what boards report they moved on their link, the
monthly budgets per board or site, the month's forecast (docs/data-budget.md)."""
