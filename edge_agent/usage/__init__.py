"""The board's own 4G data use: bytes counted at the socket, per local day
and month, reported with network readings, and the adaptive mode.

``DataMeter`` (meter.py) is what the agent and its MQTT session use;
``count_http`` is for the agent's own HTTP transfers (the updater's
downloads), which go to the meter of the running agent.
"""

from edge_agent.usage.meter import DataMeter, count_http

__all__ = ["DataMeter", "count_http"]
