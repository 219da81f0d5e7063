"""Run-wide locks, so that a periodic job (seat sync, reconciliation, missed
webhooks) started twice at once runs once: the second start finds the lock taken
and leaves."""

import contextlib
import fcntl
import hashlib
import tempfile
import zlib
from collections.abc import Iterator
from pathlib import Path

from django.core.cache import cache
from django.db import connection
from django.utils import timezone

# A crashed run's cache lock expires after this (the DB and file locks end with it).
LOCK_TIMEOUT = 60 * 60


def _lock_file(database: str, name: str) -> Path:
    """The file that stands for the lock `name` of runs on this SQLite database.

    It lives in the system's temporary folder, not beside the database, so the
    project folder holds no runtime files; every process on this machine that opens
    the same database finds the same file.
    """
    digest = hashlib.sha256(str(Path(database).resolve()).encode()).hexdigest()[:16]
    return Path(tempfile.gettempdir()) / f"{name.rpartition('.')[2]}-{digest}.lock"


@contextlib.contextmanager
def run_lock(name: str) -> Iterator[bool]:
    """Hold the run-wide lock `name` if free; yields whether this run got it.

    Overlapping runs are already safe object by object (seat sync claims each
    subscriber, transitions lock it); the lock only spares a second run the work.
    PostgreSQL: an advisory lock, released when
    the connection ends. SQLite: a file lock (see `_lock_file`), released when the
    process ends. Otherwise the cache, which must then be shared between processes.
    """
    if connection.vendor == "postgresql":
        key = zlib.crc32(name.encode())
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_try_advisory_lock(%s)", [key])
            acquired = cursor.fetchone()[0]
        try:
            yield acquired
        finally:
            if acquired:
                with connection.cursor() as cursor:
                    cursor.execute("SELECT pg_advisory_unlock(%s)", [key])
    elif connection.vendor == "sqlite":
        database = str(connection.settings_dict["NAME"])
        if connection.creation.is_in_memory_db(database):
            # One process owns an in-memory database: nothing to race with.
            yield True
            return
        with open(_lock_file(database, name), "a") as fh:
            try:
                fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                yield False
                return
            try:
                yield True
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)
    else:
        acquired = cache.add(name, timezone.now().isoformat(), LOCK_TIMEOUT)
        try:
            yield acquired
        finally:
            if acquired:
                cache.delete(name)
