"""Logs and diagnostics on request (the ``collect_logs`` command, docs/agent.md
"Logs and diagnostics"): ``journal`` reads the agent's and the player's
journal, ``report`` gathers the diagnostics, ``redaction`` removes every
secret the board knows of and the common shapes of others, ``bundle`` packs
the text under the protocol's size cap, ``jobs`` does the slow part off the
agent's loop. ``settings`` is the board-local ``[diagnostics]`` section."""
