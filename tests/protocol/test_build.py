"""The protocol's models are built on first use (``defer_build``), and
``build_models`` builds them all ahead (the fleet server at start)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from pydantic import BaseModel

import fleet_protocol as fp
from fleet_protocol import commands, logs, messages, releases, remote_config, usage
from fleet_protocol.build import protocol_models

REPO = Path(__file__).resolve().parents[2]

#: Run in a process of its own: in this one, other tests have built models already.
_FRESH = """
import json, sys
import fleet_protocol as fp
from fleet_protocol.build import build_models, protocol_models
models = protocol_models()
before = sorted(m.__qualname__ for m in models if m.__pydantic_complete__)
fp.encode(fp.HeartbeatMessage(**json.loads(sys.argv[1])))
used = sorted(m.__qualname__ for m in models if m.__pydantic_complete__)
built = build_models()
after = sorted(m.__qualname__ for m in models if not m.__pydantic_complete__)
print(json.dumps({"count": len(models), "before": before, "used": used, "built": built,
                  "left": after, "again": build_models()}))
"""

HEARTBEAT = {
    "schema_version": 1,
    "device_id": "lc-build-01",
    "boot": 1,
    "seq": 1,
    "measured_at": "2026-12-07T10:00:00Z",
    "sent_at": "2026-12-07T10:00:00Z",
    "data": {
        "uptime_s": 5,
        "agent_version": "0.1.0",
        "cpu_percent": 5,
        "memory_percent": 30,
        "disk_percent": 20,
    },
}


def test_every_protocol_model_is_found_and_deferred() -> None:
    models = protocol_models()
    for module in (commands, logs, messages, releases, remote_config, usage):
        defined = [
            value
            for value in vars(module).values()
            if isinstance(value, type)
            and issubclass(value, BaseModel)
            and value.__module__ == module.__name__
        ]
        assert defined, module.__name__
        for model in defined:
            assert model in models, model
            assert model.model_config.get("defer_build") is True, model
    assert fp.HeartbeatMessage in models
    assert fp.RemoteConfig in models


def test_models_are_built_on_first_use_and_all_by_build_models() -> None:
    out = subprocess.run(
        [sys.executable, "-c", _FRESH, json.dumps(HEARTBEAT)],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    result = json.loads(out.stdout)
    assert result["before"] == []  # nothing built at import
    assert result["used"] == ["HeartbeatMessage"]  # its data's schema is built inside it
    assert result["built"] == result["count"] - len(result["used"])
    assert result["left"] == []
    assert result["again"] == 0
