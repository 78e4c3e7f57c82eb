"""The edge agent that runs on every board controller."""

__version__ = "0.1.0"
