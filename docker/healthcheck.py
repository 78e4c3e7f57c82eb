#!/usr/bin/env python3
"""Health check of a fleet server container (docker-compose.yml).

    fleet-healthcheck URL [METRIC=VALUE]

Healthy (exit 0) when URL answers 2xx and, if given, the Prometheus sample
METRIC (unlabelled) in the answer equals VALUE — e.g. ingest is healthy while
``fleet_ingest_broker_connected`` is 1. Sends ``FLEET_METRICS_TOKEN`` (from
the container's environment) as a bearer token when it is set: /metrics then
requires it. Standard library only.
"""

from __future__ import annotations

import os
import sys
import urllib.request


def main(argv: list[str]) -> int:
    if len(argv) not in (2, 3):
        print("usage: fleet-healthcheck URL [METRIC=VALUE]", file=sys.stderr)
        return 2
    url = argv[1]
    request = urllib.request.Request(url)  # noqa: S310 - our own URL
    token = os.environ.get("FLEET_METRICS_TOKEN", "").strip()
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310 - our own URL
            body = response.read().decode("utf-8", "replace")
    except OSError as exc:
        print(f"unhealthy: {url}: {exc}")
        return 1
    if len(argv) == 2:
        return 0
    name, _, value = argv[2].partition("=")
    for line in body.splitlines():
        fields = line.split()
        if len(fields) >= 2 and fields[0] == name:
            if float(fields[1]) == float(value):
                return 0
            print(f"unhealthy: {name} is {fields[1]}, not {value}")
            return 1
    print(f"unhealthy: no {name} in {url}")
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
