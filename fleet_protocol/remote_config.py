"""Which board settings the server may change (``set_config``, ``config/desired``).

An allow-list, not a deny-list: a setting added to the agent later is
board-local until someone decides otherwise here. Everything that executes,
names a systemd unit, a file, a URL or a host to contact, holds credentials
or TLS files, or says who the board is and which broker it talks to stays in
the board's ``agent.toml``: an operator account (or whoever has stolen one)
must not be able to turn a board off, point it at another broker or make it
read files and probe its local network. docs/commands.md gives the reason
for each key.

Both sides check with this one list: the server before it stores or
publishes a change (a 422 naming the key), the agent before it applies one
(``rejected`` / ``applied: false``, and nothing of the change applied).
"""

from __future__ import annotations

from collections.abc import Mapping

from fleet_protocol.errors import ProtocolError

#: Settings a server may change remotely, as dotted paths of the agent's
#: configuration (``intervals.heartbeat`` is ``[intervals] heartbeat``).
REMOTE_CONFIG_KEYS: frozenset[str] = frozenset(
    {
        "log_level",
        "intervals.heartbeat",
        "intervals.power",
        "intervals.network",
        "intervals.camera",
        "intervals.display",
        "spool.max_bytes",
        "spool.max_age_days",
        "spool.inflight",
        "spool.delivery",
        "spool.receipt_timeout_s",
        "spool.unreceipted_max",
        "spool.reserve_bytes",
        "spool.retry_s",
    }
)

_ALLOWED: frozenset[tuple[str, ...]] = frozenset(
    tuple(key.split(".")) for key in REMOTE_CONFIG_KEYS
)


def _leaves(changes: Mapping[str, object], prefix: tuple[str, ...]) -> list[tuple[str, ...]]:
    paths: list[tuple[str, ...]] = []
    for key, value in changes.items():
        path = (*prefix, str(key))
        if isinstance(value, Mapping) and value:
            paths.extend(_leaves(value, path))
        else:  # a value, a list or an empty section: the path itself is set
            paths.append(path)
    return paths


def board_local_keys(changes: Mapping[str, object]) -> list[str]:
    """The settings in ``changes`` a server may not change, as dotted paths
    (sorted; empty when every one is remote-editable).

    Paths are compared as tuples of keys, so ``{"intervals.heartbeat": 5}``
    (one key with a dot) is not ``intervals.heartbeat``, and a whole section
    (``{"intervals": 5}``) is not each key inside it.
    """
    return sorted({".".join(path) for path in _leaves(changes, ()) if path not in _ALLOWED})


def check_remote_config(changes: Mapping[str, object]) -> None:
    """Raise ProtocolError (``board_local``) naming every board-local setting
    in ``changes``; its ``detail`` is the sentence to show an operator."""
    refused = board_local_keys(changes)
    if refused:
        raise ProtocolError(
            "board_local",
            f"not changeable remotely: {', '.join(refused)} (board-local: set in the"
            " board's agent.toml; see docs/commands.md for the settings a server may change)",
        )
