"""Agent releases on the server: signed artifacts published for the boards
(docs/updates.md). The rollouts that send them are in ``fleet_server/rollouts``."""
