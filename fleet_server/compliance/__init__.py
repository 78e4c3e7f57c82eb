"""Proof of play and broadcast compliance (Điều 8, 9.1)."""
