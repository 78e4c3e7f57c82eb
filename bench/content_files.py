"""Broadcast file archive benchmark (Điều 9.1): how fast the content store
keeps uploaded files, against what the disk does with the same bytes.

In one run, on the same filesystem, with the same --files files of
--size-mb MiB each (random bytes, so nothing compresses or dedupes):

1. baselines: write each file to a plain file in 1 MiB chunks and fsync it
   (what the disk gives a program that only writes), and the same while
   computing its SHA-256 (what any content-addressed store must at least do);
2. store: ``LocalStore.spool`` + ``put`` (hash while spooling, fsync, link
   under the hash, fsync the directory);
3. archive: ``service_files.store_upload`` on a migrated embedded PostgreSQL
   (the store plus its row, lock and audit row, one transaction a file);
4. again: the same files uploaded a second time (the idempotent path: hashed
   and spooled again, nothing written under the hash).

Ratios first (MiB/s of each step over the bare write's, the same-run
baseline), then the figures; the result is also kept in
bench/results/content_files-<UTC time>.json.

    .venv/bin/python -m bench.content_files --files 20 --size-mb 8
"""

from __future__ import annotations

import argparse
import hashlib
import io
import os
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import psycopg

from bench.baseline import emit
from bench.database import machine, migrated_database
from fleet_server.content.files import LocalStore
from fleet_server.content.service_files import store_upload

CHUNK = 1 << 20


def _timed(step: Callable[[], None]) -> float:
    started = time.perf_counter()
    step()
    return time.perf_counter() - started


def _bare_writes(payloads: list[bytes], directory: Path) -> None:
    directory.mkdir()
    for index, payload in enumerate(payloads):
        with open(directory / f"f{index}", "wb") as out:
            for start in range(0, len(payload), CHUNK):
                out.write(payload[start : start + CHUNK])
            out.flush()
            os.fsync(out.fileno())


def _hashed_writes(payloads: list[bytes], directory: Path) -> None:
    directory.mkdir()
    for index, payload in enumerate(payloads):
        digest = hashlib.sha256()
        with open(directory / f"f{index}", "wb") as out:
            for start in range(0, len(payload), CHUNK):
                chunk = payload[start : start + CHUNK]
                digest.update(chunk)
                out.write(chunk)
            out.flush()
            os.fsync(out.fileno())
        assert digest.hexdigest()


def _store_puts(payloads: list[bytes], store: LocalStore) -> None:
    for payload in payloads:
        assert store.put(store.spool(io.BytesIO(payload))), "a new file was not placed"


def run(args: argparse.Namespace) -> dict[str, object]:
    size = args.size_mb * CHUNK
    payloads = [os.urandom(size) for _ in range(args.files)]
    total_mib = args.files * args.size_mb
    work = Path(tempfile.mkdtemp(prefix="bench-content-files-", dir=args.dir))
    try:
        bare_s = _timed(lambda: _bare_writes(payloads, work / "bare"))
        hashed_s = _timed(lambda: _hashed_writes(payloads, work / "hashed"))
        store_s = _timed(lambda: _store_puts(payloads, LocalStore(work / "store")))
        with migrated_database("bench-content-files-pg-") as url:
            archive = LocalStore(work / "archive")
            with psycopg.connect(url, autocommit=True) as conn:

                def upload_all() -> None:
                    for index, payload in enumerate(payloads):
                        store_upload(
                            conn,
                            archive,
                            io.BytesIO(payload),
                            filename=f"bench-{index}.mp4",
                            media_type="video/mp4",
                            actor="bench",
                        )

                archive_s = _timed(upload_all)
                again_s = _timed(upload_all)
                rows = conn.execute("SELECT count(*) FROM content_files").fetchone()
        stored = sum(1 for p in (work / "archive" / "sha256").rglob("*") if p.is_file())
    finally:
        shutil.rmtree(work, ignore_errors=True)

    def rate(seconds: float) -> float:
        return round(float(total_mib) / seconds, 1)

    return {
        "ratio_to_bare_write": {
            "hash_and_write": round(rate(hashed_s) / rate(bare_s), 2),
            "store": round(rate(store_s) / rate(bare_s), 2),
            "archive": round(rate(archive_s) / rate(bare_s), 2),
            "upload_again": round(rate(again_s) / rate(bare_s), 2),
        },
        "mib_per_s": {
            "bare_write_fsync": rate(bare_s),
            "hash_and_write_fsync": rate(hashed_s),
            "store": rate(store_s),
            "archive": rate(archive_s),
            "upload_again": rate(again_s),
        },
        "ms_per_file": {
            "bare_write_fsync": round(bare_s * 1000 / args.files, 1),
            "archive": round(archive_s * 1000 / args.files, 1),
        },
        "files": args.files,
        "size_mib": args.size_mb,
        "rows": rows[0] if rows else None,
        "files_in_store": stored,
        "machine": machine(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--files", type=int, default=20)
    parser.add_argument("--size-mb", type=int, default=8)
    parser.add_argument("--dir", default=None, help="where to write (default: the temp dir)")
    emit("content_files", run(parser.parse_args()))


if __name__ == "__main__":
    main()
