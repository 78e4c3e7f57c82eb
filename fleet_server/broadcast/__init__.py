"""Broadcast windows (Điều 8.1): the morning, afternoon and evening time
frames, in local time, set for a whole site or overridden for one board
(docs/content.md)."""
