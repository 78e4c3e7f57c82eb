"""Building the protocol models' validators ahead of their first use.

Every model here is declared with ``defer_build=True``: pydantic builds a
model's validator and serializer when it is first used, not at import. A
board's agent uses about half of the models (telemetry, state, events, the
command arguments it is sent), so it never builds the others (issue 20: its
resident memory). The fleet server meets them all and calls
:func:`build_models` at start (ingest, before its first message), so no
message pays for a build.
"""

from __future__ import annotations

from pydantic import BaseModel

from fleet_protocol import commands, logs, messages, releases, remote_config, usage

_MODULES = (commands, logs, messages, releases, remote_config, usage)


def protocol_models() -> list[type[BaseModel]]:
    """Every pydantic model the protocol's modules define, bases included."""
    names = {module.__name__ for module in _MODULES}
    found: list[type[BaseModel]] = []
    todo = list(BaseModel.__subclasses__())
    while todo:
        model = todo.pop()
        todo.extend(model.__subclasses__())
        if model.__module__ in names and model not in found:
            found.append(model)
    return sorted(found, key=lambda model: (model.__module__, model.__qualname__))


def build_models() -> int:
    """Build every protocol model not built yet; how many were built."""
    built = 0
    for model in protocol_models():
        if not model.__pydantic_complete__:
            model.model_rebuild()
            built += 1
    return built
