"""The broker as the first line of defence: provisioning CA, Mosquitto's
dynamic-security plugin, and the bootstrap of a production broker directory.

See docs/broker.md.
"""

from __future__ import annotations
