"""Cameras at the boards and their last status: the Border Guard's view
(Điều 13.1.b)."""
