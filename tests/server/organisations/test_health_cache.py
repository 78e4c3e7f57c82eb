"""The fleet health cache: one build per key and version under concurrency,
the older build while a new one is made, the maximum age, the bound."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest

from fleet_server.organisations.health_cache import VersionedCache


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def blocking_build(
    value: str, started: threading.Event, release: threading.Event
) -> Callable[[], str]:
    def build() -> str:
        started.set()
        assert release.wait(10)
        return value

    return build


def test_concurrent_requests_at_one_version_build_once() -> None:
    cache: VersionedCache[str] = VersionedCache()
    started, release = threading.Event(), threading.Event()
    calls: list[int] = []

    def build() -> str:
        calls.append(1)
        started.set()
        assert release.wait(10)
        return "page"

    answers: list[str] = []
    threads = [
        threading.Thread(target=lambda: answers.append(cache.get("admin", 7, build)))
        for _ in range(20)
    ]
    for thread in threads:
        thread.start()
    assert started.wait(10)
    release.set()
    for thread in threads:
        thread.join(10)
    assert answers == ["page"] * 20
    assert len(calls) == 1
    assert cache.builds == 1


def test_the_older_build_is_served_while_the_new_one_is_made() -> None:
    cache: VersionedCache[str] = VersionedCache()
    cache.get("admin", 1, lambda: "v1")
    started, release = threading.Event(), threading.Event()
    builder = threading.Thread(
        target=cache.get, args=("admin", 2, blocking_build("v2", started, release))
    )
    builder.start()
    assert started.wait(10)
    # another request at the new version does not wait behind the build
    assert cache.get("admin", 2, lambda: pytest.fail("built twice")) == "v1"
    release.set()
    builder.join(10)
    assert cache.get("admin", 2, lambda: pytest.fail("built again")) == "v2"
    assert cache.builds == 2


def test_a_new_version_builds_again_and_an_old_build_never_replaces_a_newer() -> None:
    cache: VersionedCache[str] = VersionedCache()
    assert cache.get("k", 1, lambda: "one") == "one"
    assert cache.get("k", 1, lambda: "again") == "one"
    assert cache.get("k", 2, lambda: "two") == "two"
    # a request that read version 1 before the change and builds late
    assert cache.get("k", 1, lambda: "late one") == "late one"
    assert cache.get("k", 2, lambda: "three") == "two"


def test_the_first_build_is_confirmed_once_then_kept_until_the_maximum_age() -> None:
    clock = Clock()
    cache: VersionedCache[str] = VersionedCache(max_age_s=60, confirm_after_s=2, clock=clock)
    assert cache.get("k", 1, lambda: "first") == "first"
    clock.now = 1.9
    assert cache.get("k", 1, lambda: "x") == "first"
    clock.now = 2.0  # built again once at the same version: a commit seen late
    assert cache.get("k", 1, lambda: "confirmed") == "confirmed"
    clock.now = 61.9
    assert cache.get("k", 1, lambda: "x") == "confirmed"
    clock.now = 62.0
    assert cache.get("k", 1, lambda: "aged") == "aged"
    # a new version: its first build is confirmed again
    assert cache.get("k", 2, lambda: "two") == "two"
    clock.now = 64.0
    assert cache.get("k", 2, lambda: "two confirmed") == "two confirmed"
    clock.now = 100.0
    assert cache.get("k", 2, lambda: "x") == "two confirmed"
    assert cache.builds == 5


def test_keys_are_kept_apart_and_the_least_recently_used_go_first() -> None:
    cache: VersionedCache[str] = VersionedCache(capacity=2)
    cache.get("operator", 1, lambda: "operator's")
    cache.get("district", 1, lambda: "district's")
    assert cache.get("operator", 1, lambda: "x") == "operator's"
    cache.get("admin", 1, lambda: "admin's")  # drops "district", the least recent
    assert cache.get("district", 1, lambda: "district's again") == "district's again"
    assert cache.get("admin", 1, lambda: "x") == "admin's"
    assert cache.builds == 4


def test_a_failed_build_is_not_kept_and_the_next_request_builds() -> None:
    cache: VersionedCache[str] = VersionedCache()

    def fail() -> str:
        raise RuntimeError("database gone")

    with pytest.raises(RuntimeError):
        cache.get("k", 1, fail)
    assert cache.get("k", 1, lambda: "built") == "built"
    assert cache.builds == 1
