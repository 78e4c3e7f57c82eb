"""The API benchmark's clients (``bench/api.py``): keep-alive HTTP/1.1
connections on asyncio streams, each client pausing ``think`` seconds
(exponential) between requests, and the figures of a run (percentiles per
endpoint, CPU of the server, PostgreSQL, the load generator and the rest of
the machine)."""

from __future__ import annotations

import asyncio
import contextlib
import html
import json
import random
import re
import statistics
import subprocess
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import psutil

from bench.api_scenarios import WALK_PAGES, Scenario

#: a console page's link to its next page by cursor
CURSOR_LINK = re.compile(rb'href="([^"]*[?&](?:amp;)?cursor=[^"]*)"')


@dataclass
class Sample:
    label: str
    status: int
    seconds: float


class Connection:
    """One keep-alive HTTP/1.1 connection, as a browser tab holds one: a
    minimal client on asyncio streams (httpx's pool cost more CPU per request
    than the server's handlers, on the same two cores)."""

    def __init__(self, host: str, port: int, headers: dict[str, str]) -> None:
        self.host, self.port = host, port
        extra = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        self.head = f"Host: {host}:{port}\r\n{extra}\r\n"
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None
        self.last_used = 0.0

    async def get(self, path: str) -> tuple[int, bytes]:
        # uvicorn closes a connection idle for 5 s; a browser opens a new one.
        if time.monotonic() - self.last_used > 4:
            self.close()
        if self.writer is None or self.reader is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        reader, writer = self.reader, self.writer
        writer.write(f"GET {path} HTTP/1.1\r\n{self.head}".encode("latin-1"))
        await writer.drain()
        status_line = await reader.readline()
        if not status_line:
            raise ConnectionError("closed")
        status = int(status_line.split()[1])
        length, chunked, close = 0, False, False
        while (line := await reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.decode("latin-1").partition(":")
            name = name.strip().lower()
            if name == "content-length":
                length = int(value)
            elif name == "transfer-encoding" and "chunked" in value.lower():
                chunked = True
            elif name == "connection" and "close" in value.lower():
                close = True
        if chunked:
            parts = []
            while size := int((await reader.readline()).split(b";")[0], 16):
                parts.append((await reader.readexactly(size + 2))[:-2])
            await reader.readline()
            body = b"".join(parts)
        else:
            body = await reader.readexactly(length)
        if close:
            self.close()
        self.last_used = time.monotonic()
        return status, body

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None


def next_page(path: str, body: bytes) -> str | None:
    """The next page's path: ``next_cursor`` of a JSON list, or a console
    page's ``cursor=`` link; None on the last page or without cursors."""
    if body[:1] == b"{":
        try:
            cursor = json.loads(body).get("next_cursor")
        except (ValueError, AttributeError):
            return None
        if not cursor:
            return None
        parts = urlsplit(path)
        query = [(k, v) for k, v in parse_qsl(parts.query) if k not in ("cursor", "offset")]
        return f"{parts.path}?{urlencode([*query, ('cursor', str(cursor))])}"
    found = CURSOR_LINK.findall(body)
    if not found:
        return None
    link = html.unescape(found[-1].decode("utf-8", "replace"))  # the last: "next"
    return link if link.startswith("/") else urlsplit(path).path + link


async def _client(
    connection: Connection,
    scenario: Scenario,
    *,
    rng: random.Random,
    think: float,
    warm_until: float,
    stop_at: float,
    out: list[Sample],
) -> None:
    await asyncio.sleep(rng.random() * min(0.5, think or 0.05))  # do not all start at once
    walking: tuple[str, str, int] | None = None  # label, path, pages left
    while time.monotonic() < stop_at:
        if walking is not None:
            label, path, left = walking
            walk = True
        else:
            # every endpoint (route and variant) equally often: each is judged by
            # its own p99, which needs its own ~100 requests to be one
            endpoint = rng.choice(scenario.endpoints)
            label, path, left, walk = endpoint.label, endpoint.make(rng), WALK_PAGES, endpoint.walk
        t0 = time.monotonic()
        try:
            status, body = await asyncio.wait_for(connection.get(path), 30)
        except (OSError, ValueError, IndexError, TimeoutError, asyncio.IncompleteReadError):
            connection.close()
            status, body = 599, b""
        t1 = time.monotonic()
        if t0 >= warm_until and t1 <= stop_at:
            out.append(Sample(label, status, t1 - t0))
        walking = None
        if walk and left > 0 and status == 200 and (following := next_page(path, body)):
            route = label.split(" [", 1)[0]
            walking = (f"{route} [next_cursor page]", following, left - 1)
        if think:
            await asyncio.sleep(rng.expovariate(1 / think))
    connection.close()


async def run_clients(
    base: str,
    scenario: Scenario,
    *,
    headers: dict[str, str],
    clients: int,
    think: float,
    duration: float,
    warmup: float,
    seed: int,
) -> list[Sample]:
    host, port = base.removeprefix("http://").split(":")
    samples: list[Sample] = []
    warm_until = time.monotonic() + warmup
    stop_at = warm_until + duration
    await asyncio.gather(
        *[
            _client(
                Connection(host, int(port), headers),
                scenario,
                rng=random.Random(seed * 1000 + i),
                think=think,
                warm_until=warm_until,
                stop_at=stop_at,
                out=samples,
            )
            for i in range(clients)
        ]
    )
    return samples


def _pct(sorted_ms: list[float], q: float) -> float:
    if not sorted_ms:
        return float("nan")
    index = min(len(sorted_ms) - 1, max(0, round(q * len(sorted_ms)) - 1))
    return sorted_ms[index]


def summarise(samples: list[Sample], seconds: float) -> dict[str, Any]:
    ms = sorted(s.seconds * 1000 for s in samples)
    return {
        "requests": len(ms),
        "rps": round(len(ms) / seconds, 1),
        "p50_ms": round(_pct(ms, 0.50), 1),
        "p95_ms": round(_pct(ms, 0.95), 1),
        "p99_ms": round(_pct(ms, 0.99), 1),
        "max_ms": round(ms[-1], 1) if ms else None,
        "mean_ms": round(statistics.fmean(ms), 1) if ms else None,
        "errors": sum(1 for s in samples if s.status >= 400),
        "statuses": sorted({s.status for s in samples}),
    }


def tree_cpu(root: psutil.Process) -> float:
    """CPU seconds of a process and its children, those that exited included
    (their times are added to the parent's when it reaps them): grows
    monotonically while PostgreSQL's backends come and go."""
    total = 0.0
    with contextlib.suppress(psutil.Error):
        t = root.cpu_times()
        total += t.user + t.system + t.children_user + t.children_system
        for child in root.children(recursive=True):
            with contextlib.suppress(psutil.Error):
                c = child.cpu_times()
                total += c.user + c.system
    return total


def server_processes(
    api: subprocess.Popen[bytes], postmaster: int | None
) -> dict[str, psutil.Process]:
    out = {"api": psutil.Process(api.pid)}
    if postmaster:
        with contextlib.suppress(psutil.Error):
            out["postgres"] = psutil.Process(postmaster)
    return out


def busy_cpu() -> float:
    """CPU seconds the whole machine spent busy (every process, ours or not)."""
    t = psutil.cpu_times()
    return float(sum(t) - t.idle - getattr(t, "iowait", 0.0))


def measure(
    base: str,
    api: subprocess.Popen[bytes],
    scenario: Scenario,
    *,
    headers: dict[str, str],
    clients: int,
    think: float,
    duration: float,
    warmup: float,
    seed: int,
    postmaster: int | None,
) -> dict[str, Any]:
    procs = server_processes(api, postmaster)
    me = psutil.Process()
    cpu0 = {k: tree_cpu(v) for k, v in procs.items()} | {"load generator": sum(me.cpu_times()[:2])}
    busy0 = busy_cpu()
    wall0 = time.monotonic()
    samples = asyncio.run(
        run_clients(
            base,
            scenario,
            headers=headers,
            clients=clients,
            think=think,
            duration=duration,
            warmup=warmup,
            seed=seed,
        )
    )
    wall = time.monotonic() - wall0
    cpu1 = {k: tree_cpu(v) for k, v in procs.items()} | {"load generator": sum(me.cpu_times()[:2])}
    cores = {k: round((cpu1[k] - cpu0[k]) / wall, 2) for k in cpu0}
    # Other sessions' work on the same machine (tests, builds): not ours.
    cores["others"] = round(max(0.0, (busy_cpu() - busy0) / wall - sum(cores.values())), 2)
    by_label: dict[str, list[Sample]] = {}
    for s in samples:
        by_label.setdefault(s.label, []).append(s)
    return {
        "scenario": scenario.name,
        "role": scenario.role,
        "console": scenario.console,
        "think_s": think,
        **summarise(samples, duration),
        "cpu_cores": cores,
        "endpoints": {label: summarise(v, duration) for label, v in sorted(by_label.items())},
    }
