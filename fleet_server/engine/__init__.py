"""Engine role: board state, rules, incidents (one active engine at a time)."""
