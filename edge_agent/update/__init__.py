"""Signed updates of the agent itself, with rollback by the board (docs/agent.md,
"Updates and rollback"): ``command`` takes the ``update`` command, ``worker``
downloads, verifies and switches, ``health`` decides whether the new version
stayed, ``guard`` is the boot guard's counterpart."""
