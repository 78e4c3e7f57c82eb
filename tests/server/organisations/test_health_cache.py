"""The fleet health cache: one first build per key under concurrency; after
that, a stale entry is served at once while one background rebuild runs; a
rebuild that finds nothing changed keeps the kept object; confirmation and
maximum age on an injected clock; a failed rebuild keeps serving and retries
later; keys never mix."""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from fleet_server.organisations.health_cache import VersionedCache


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class Background:
    """Rebuilds queued instead of started, and a database whose version
    the test sets: the test runs the rebuilds when it wants."""

    def __init__(self) -> None:
        self.tasks: list[Callable[[], None]] = []
        self.version = 1
        self.connections = 0

    def spawn(self, work: Callable[[], None]) -> None:
        self.tasks.append(work)

    @contextlib.contextmanager
    def connect(self) -> Iterator[str]:
        self.connections += 1
        yield "background connection"

    def read_version(self, conn: Any) -> int:
        assert conn == "background connection"
        return self.version

    def run(self) -> int:
        tasks, self.tasks = self.tasks, []
        for task in tasks:
            task()
        return len(tasks)


def make(**kwargs: Any) -> tuple[VersionedCache[Any], Background, Clock]:
    background, clock = Background(), Clock()
    cache: VersionedCache[Any] = VersionedCache(
        clock=clock, spawn=background.spawn, read_version=background.read_version, **kwargs
    )
    return cache, background, clock


def const(value: Any) -> Callable[[Any, Any], Any]:
    return lambda conn, kept: value


def never(conn: Any, kept: Any) -> Any:
    pytest.fail("a request waited for a build")


def test_concurrent_first_requests_build_once() -> None:
    cache, background, _ = make()
    started, release = threading.Event(), threading.Event()
    calls: list[Any] = []

    def build(conn: Any, kept: Any) -> str:
        calls.append((conn, kept))
        started.set()
        assert release.wait(10)
        return "page"

    answers: list[str] = []

    def read() -> None:
        answers.append(cache.get("admin", 7, build, conn="req", connect=background.connect))

    threads = [threading.Thread(target=read) for _ in range(20)]
    for thread in threads:
        thread.start()
    assert started.wait(10)
    release.set()
    for thread in threads:
        thread.join(10)
    assert answers == ["page"] * 20
    assert calls == [("req", None)]  # the first request's connection, nothing kept
    assert background.tasks == []


def test_a_stale_entry_is_served_at_once_and_rebuilt_once_in_the_background() -> None:
    cache, background, _ = make()
    cache.get("admin", 1, const("v1"), conn="req", connect=background.connect)
    background.version = 2
    started, release = threading.Event(), threading.Event()
    seen: list[Any] = []

    def build(conn: Any, kept: Any) -> str:
        seen.append((conn, kept))
        started.set()
        assert release.wait(10)
        return "v2"

    answers = [cache.get("admin", 2, build, conn="req", connect=background.connect)]
    assert len(background.tasks) == 1
    rebuild = threading.Thread(target=background.run)
    rebuild.start()
    assert started.wait(10)
    # while it runs, concurrent requests get the kept build, none waits
    readers = [
        threading.Thread(
            target=lambda: answers.append(
                cache.get("admin", 2, never, conn="req", connect=background.connect)
            )
        )
        for _ in range(20)
    ]
    for reader in readers:
        reader.start()
    for reader in readers:
        reader.join(10)
    assert answers == ["v1"] * 21
    assert background.tasks == []  # one rebuild per key
    release.set()
    rebuild.join(10)
    assert seen == [("background connection", "v1")]  # its own connection, the kept value
    assert background.connections == 1
    assert cache.get("admin", 2, never, conn="req", connect=background.connect) == "v2"
    assert cache.settle(1)


def test_with_the_real_thread_a_request_at_a_stale_entry_does_not_wait() -> None:
    background = Background()
    cache: VersionedCache[str] = VersionedCache(read_version=background.read_version)
    cache.get("k", 1, const("v1"), conn="req", connect=background.connect)
    background.version = 2
    release = threading.Event()

    def slow(conn: Any, kept: Any) -> str:
        assert release.wait(10)
        return "v2"

    assert cache.get("k", 2, slow, conn="req", connect=background.connect) == "v1"
    assert cache.get("k", 2, never, conn="req", connect=background.connect) == "v1"
    release.set()
    assert cache.settle(10)
    assert cache.get("k", 2, never, conn="req", connect=background.connect) == "v2"


def test_a_rebuild_that_finds_the_same_value_keeps_the_kept_object() -> None:
    cache, background, _ = make()
    first = ["site", 1]
    assert cache.get("k", 1, const(first), conn="req", connect=background.connect) is first
    background.version = 2
    cache.get("k", 2, const(["site", 1]), conn="req", connect=background.connect)
    assert background.run() == 1
    assert cache.unchanged == 1
    # the same object: what was built from it can tell nothing changed
    assert cache.get("k", 2, never, conn="req", connect=background.connect) is first


def test_a_rebuild_can_reuse_what_it_built_from_unchanged_data() -> None:
    cache, background, _ = make()
    renders: list[int] = []

    def data(conn: Any, kept: Any) -> tuple[int, ...]:
        return (1, 2)

    def page(conn: Any, kept: Any) -> tuple[Any, str]:
        source = cache.get("data", background.version, data, conn=conn, connect=background.connect)
        if kept is not None and kept[0] is source:
            return kept  # type: ignore[no-any-return]
        renders.append(1)
        return source, f"rendered {source}"

    cache.get("page", 1, page, conn="req", connect=background.connect)
    background.version = 2
    cache.get("page", 2, page, conn="req", connect=background.connect)
    # the page's rebuild reads its stale data in the same thread, not in another
    assert background.run() == 1
    assert cache.builds == 4  # data and page, twice
    assert len(renders) == 1  # the data had not changed: no second rendering


def test_confirmation_and_maximum_age_rebuild_in_the_background() -> None:
    cache, background, clock = make(max_age_s=60, confirm_after_s=2)
    connect = background.connect
    assert cache.get("k", 1, const("first"), conn="req", connect=connect) == "first"
    clock.now = 1.9
    assert cache.get("k", 1, never, conn="req", connect=connect) == "first"
    assert background.tasks == []
    clock.now = 2.0  # redone once at the same version: a commit seen late
    assert cache.get("k", 1, const("confirmed"), conn="req", connect=connect) == "first"
    assert background.run() == 1
    assert cache.get("k", 1, never, conn="req", connect=connect) == "confirmed"
    clock.now = 61.9  # confirmed at 2.0: kept until 62.0
    assert cache.get("k", 1, never, conn="req", connect=connect) == "confirmed"
    assert background.tasks == []
    clock.now = 62.0
    assert cache.get("k", 1, const("aged"), conn="req", connect=connect) == "confirmed"
    assert background.run() == 1
    assert cache.get("k", 1, never, conn="req", connect=connect) == "aged"


def test_an_old_build_never_replaces_a_newer() -> None:
    cache, background, _ = make()
    cache.get("k", 2, const("two"), conn="req", connect=background.connect)
    background.version = 1  # a rebuild that read the version before the change
    cache._store("k", 1, "late one")
    assert cache.get("k", 2, never, conn="req", connect=background.connect) == "two"


def test_a_failed_rebuild_keeps_serving_logs_and_retries_later(
    caplog: pytest.LogCaptureFixture,
) -> None:
    cache, background, clock = make(retry_after_s=5)
    connect = background.connect
    cache.get("k", 1, const("v1"), conn="req", connect=connect)
    background.version = 2

    def fail(conn: Any, kept: Any) -> str:
        raise RuntimeError("database gone")

    with caplog.at_level(logging.ERROR, logger="fleet_server.organisations.health_cache"):
        assert cache.get("k", 2, fail, conn="req", connect=connect) == "v1"
        assert background.run() == 1
    assert "rebuilding" in caplog.text
    assert "database gone" in caplog.text
    clock.now = 4.9  # no retry before retry_after_s
    assert cache.get("k", 2, const("v2"), conn="req", connect=connect) == "v1"
    assert background.tasks == []
    clock.now = 5.0
    assert cache.get("k", 2, const("v2"), conn="req", connect=connect) == "v1"
    assert background.run() == 1
    assert cache.get("k", 2, never, conn="req", connect=connect) == "v2"


def test_a_failed_first_build_fails_its_request_and_the_next_builds() -> None:
    cache, background, _ = make()

    def fail(conn: Any, kept: Any) -> str:
        raise RuntimeError("database gone")

    with pytest.raises(RuntimeError):
        cache.get("k", 1, fail, conn="req", connect=background.connect)
    assert cache.get("k", 1, const("built"), conn="req", connect=background.connect) == "built"
    assert cache.builds == 1


def test_keys_are_kept_apart_and_the_least_recently_used_go_first() -> None:
    cache, background, _ = make(capacity=2)
    connect = background.connect
    cache.get("operator", 1, const("operator's"), conn="req", connect=connect)
    cache.get("district", 1, const("district's"), conn="req", connect=connect)
    assert cache.get("operator", 1, never, conn="req", connect=connect) == "operator's"
    cache.get("admin", 1, const("admin's"), conn="req", connect=connect)  # drops "district"
    assert cache.get("district", 1, const("again"), conn="req", connect=connect) == "again"
    assert cache.get("admin", 1, never, conn="req", connect=connect) == "admin's"
    background.version = 2
    assert cache.get("admin", 2, const("admin's 2"), conn="req", connect=connect) == "admin's"
    assert cache.get("district", 2, const("district 2"), conn="req", connect=connect) == "again"
    assert background.run() == 2
    assert cache.get("admin", 2, never, conn="req", connect=connect) == "admin's 2"
    assert cache.get("district", 2, never, conn="req", connect=connect) == "district 2"


def test_without_a_pool_the_request_rebuilds() -> None:
    cache, background, _ = make()
    cache.get("k", 1, const("v1"), conn="req")
    assert cache.get("k", 2, const("v2"), conn="req") == "v2"
    assert background.tasks == []
