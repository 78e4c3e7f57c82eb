"""Rollouts: one release sent to a set of boards in waves, followed board
by board by the engine (docs/updates.md)."""
