"""The broadcast file archive (Điều 9.1): uploading, reading and the
retention of content files. The API, the console and the content workflow
come through here; every new file is audited (``content_file.upload``) and
every file the retention removes too (``content_file.delete``)."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, BinaryIO

import psycopg

from fleet_server.access import audit
from fleet_server.access.principal import Actor
from fleet_server.content import storage, storage_files
from fleet_server.content.files import (
    FileStore,
    LocalStore,
    StoredFile,
    check_filename,
    check_hash,
    check_media_type,
    sha256_of_chunks,
)
from fleet_server.content.schemas_files import StoredFileOut
from fleet_server.errors import Invalid, NotFound
from fleet_server.settings import Settings

log = logging.getLogger(__name__)

Conn = psycopg.Connection[Any]


def store_upload(
    conn: Conn,
    store: FileStore,
    stream: BinaryIO | Iterable[bytes],
    *,
    filename: str | None,
    media_type: str | None,
    actor: Actor | str,
    now: datetime | None = None,
    expect_sha256: str | None = None,
) -> StoredFile:
    """Keep an uploaded file in the archive and return its record.

    ``stream`` is a binary file (``UploadFile.file``, ``open(path, "rb")``)
    or an iterable of byte chunks; it is read to the end, hashed while it is
    written to a temporary file, fsynced, then placed under its SHA-256 and
    recorded in ``content_files`` in a transaction of its own (a savepoint
    when ``conn`` is already in one: a caller may record its own row with
    the file and commit both together). ``filename`` and ``media_type`` are what the uploader
    said (cleaned; defaults ``unnamed`` and ``application/octet-stream``);
    ``actor`` is recorded as ``uploaded_by`` and in the audit row.

    Idempotent: the same bytes uploaded again return the stored record
    (``created`` False) and change nothing — the first name and media type
    stay. ``expect_sha256``, when given, must match the bytes (Invalid
    otherwise: the file was corrupted on its way).

    Refuses an empty file (Invalid, field ``file``), one over the store's
    size limit (TooLarge, 413) and a bad media type (Invalid, field
    ``media_type``). Whatever fails, no file is left under a hash.

    The registry links to the file by hash: ``content_items.sha256`` equals
    ``StoredFile.sha256``."""
    name = check_filename(filename)
    kind = check_media_type(media_type)
    expected = check_hash(expect_sha256) if expect_sha256 is not None else None
    who = actor.username if isinstance(actor, Actor) else actor
    spooled = store.spool(stream)
    try:
        if expected is not None and spooled.sha256 != expected:
            raise Invalid(
                f"sha256: the file's SHA-256 is {spooled.sha256}, not {expected}",
                field="sha256",
            )
        with conn.transaction():
            storage_files.lock(conn, spooled.sha256)
            existing = storage_files.get(conn, spooled.sha256)
            if existing is not None and store.size(spooled.sha256) == existing.size_bytes:
                return existing
            placed = store.put(spooled)
            if existing is not None:  # the row outlived its bytes: put back, same record
                if placed:
                    log.warning(
                        "content file %s was missing from the store: put back", existing.sha256
                    )
                return existing
            stored = storage_files.insert(
                conn,
                sha256=spooled.sha256,
                size_bytes=spooled.size_bytes,
                media_type=kind,
                filename=name,
                backend=store.backend,
                uploaded_by=who,
                now=now,
            )
            audit.record(
                conn,
                actor,
                "content_file.upload",
                target_type="content_file",
                target_id=stored.sha256,
                after={
                    "sha256": stored.sha256,
                    "size_bytes": stored.size_bytes,
                    "media_type": stored.media_type,
                    "filename": stored.filename,
                    "backend": stored.backend,
                },
            )
            return stored
    finally:
        spooled.discard()


def file_out(conn: Conn, found: StoredFile) -> StoredFileOut:
    """A stored file as the API shows it, with the registry item of its hash."""
    item = storage.by_sha256(conn, found.sha256)
    return StoredFileOut(
        **{k: getattr(found, k) for k in StoredFileOut.model_fields if k != "content_id"},
        content_id=item.id if item else None,
    )


def archived(conn: Conn, hashes: Iterable[str]) -> set[str]:
    """Which of ``hashes`` the archive holds (for a page of registry items)."""
    return storage_files.present(conn, list(hashes))


def get_file(conn: Conn, sha256: str) -> StoredFile:
    """A stored file's record; NotFound when the archive does not hold it."""
    value = check_hash(sha256)
    found = storage_files.get(conn, value)
    if found is None:
        raise NotFound("content file", value)
    return found


def read_file(conn: Conn, store: FileStore, sha256: str) -> tuple[StoredFile, Iterator[bytes]]:
    """A stored file's record and its bytes (in chunks)."""
    found = get_file(conn, sha256)
    return found, store.read(found.sha256)


def verify_files(conn: Conn, store: FileStore) -> Iterator[str]:
    """Read every archived file back and check it against its hash and size:
    one line per file that is missing or no longer matches (nothing: the
    archive is intact). Reads the whole archive: run it off-hours."""
    for found in storage_files.every_file(conn):
        try:
            actual, size = sha256_of_chunks(store.read(found.sha256))
        except NotFound:
            yield f"{found.sha256}: missing from the store"
            continue
        if actual != found.sha256 or size != found.size_bytes:
            yield f"{found.sha256}: the stored bytes no longer match the hash ({size} bytes)"


@dataclass(slots=True)
class RetentionResult:
    """What a retention pass removed (or, dry run, would remove)."""

    dry_run: bool
    cutoff: datetime
    deleted: list[StoredFile] = field(default_factory=list)

    @property
    def bytes_freed(self) -> int:
        return sum(f.size_bytes for f in self.deleted)


def check_keep_days(keep_days: int) -> int:
    """Files are kept at least as long as the proof of play (Điều 9.1 with
    10.1.a's six months): never fewer days than the play log keeps."""
    from fleet_server.telemetry.storage_upkeep import ROLLUP_DAYS  # noqa: PLC0415

    if keep_days < ROLLUP_DAYS:
        raise Invalid(
            f"keep_days: files are kept at least as long as the play log ({ROLLUP_DAYS} days),"
            f" not {keep_days}",
            field="keep_days",
        )
    return keep_days


def apply_file_retention(
    conn: Conn,
    store: FileStore,
    now: datetime,
    keep_days: int,
    *,
    dry_run: bool = False,
    limit: int = 1000,
) -> RetentionResult:
    """Delete the files nothing needs any more: uploaded more than
    ``keep_days`` ago, not shown on a board since, and not named by a
    registry item whose validity lasted until then (storage_files._NEEDED).
    Each file is checked again under its lock and removed from the table and
    the store in one transaction per file, audited. ``dry_run``: only list."""
    cutoff = now - timedelta(days=check_keep_days(keep_days))
    result = RetentionResult(dry_run=dry_run, cutoff=cutoff)
    for candidate in storage_files.expired(conn, cutoff, now, limit):
        if dry_run:
            result.deleted.append(candidate)
            continue
        with conn.transaction():
            storage_files.lock(conn, candidate.sha256)
            if not storage_files.still_expired(conn, candidate.sha256, cutoff, now):
                continue
            storage_files.delete(conn, candidate.sha256)
            audit.record(
                conn,
                "system",
                "content_file.delete",
                target_type="content_file",
                target_id=candidate.sha256,
                before={"sha256": candidate.sha256, "size_bytes": candidate.size_bytes},
                detail=f"retention: not needed since {cutoff.date().isoformat()}",
            )
            store.delete(candidate.sha256)  # last: a failure rolls the row back
        result.deleted.append(candidate)
    if not dry_run:
        store.sweep_spool()
    if result.deleted and not dry_run:
        log.info(
            "content file retention: %d files, %d bytes removed",
            len(result.deleted),
            result.bytes_freed,
        )
    return result


def store_from_settings(settings: Settings) -> FileStore:
    """The store the settings name: the local filesystem under
    ``FLEET_CONTENT_FILES_DIR`` (default ``<FLEET_DATA_DIR>/content-files``)
    or an S3-compatible bucket (``FLEET_CONTENT_FILES_S3_*``; uploads are
    spooled under the data directory first)."""
    root = Path(settings.content_files_dir or Path(settings.data_dir) / "content-files")
    if settings.content_files_backend == "local":
        return LocalStore(root, max_bytes=settings.content_files_max_bytes)
    from fleet_server.content.s3 import S3Store  # noqa: PLC0415 - only when configured

    secret = settings.content_files_s3_secret_key
    return S3Store(
        endpoint=settings.content_files_s3_endpoint or "",
        bucket=settings.content_files_s3_bucket or "",
        access_key=settings.content_files_s3_access_key or "",
        secret_key=secret.get_secret_value() if secret else "",
        region=settings.content_files_s3_region,
        prefix=settings.content_files_s3_prefix,
        spool_dir=root / "tmp",
        max_bytes=settings.content_files_max_bytes,
    )
