"""REST API (``/api/v1``) and web console of the fleet server."""
