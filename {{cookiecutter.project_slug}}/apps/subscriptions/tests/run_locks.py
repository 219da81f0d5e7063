"""Holding a periodic run's lock as another process would, for the tests of runs
that must not overlap (reconciliation, missed webhooks)."""

import contextlib
import threading

from django.db import connection, connections

from apps.subscriptions.run_locks import run_lock


def share_run_locks(monkeypatch, tmp_path) -> None:
    """Make run locks work as between processes: on SQLite they are files named
    after the database file, and an in-memory database has none."""
    if connection.vendor == "sqlite":
        monkeypatch.setitem(
            connection.settings_dict, "NAME", str(tmp_path / "db.sqlite3")
        )


@contextlib.contextmanager
def lock_held_elsewhere(name):
    """Hold the run lock `name` from another thread, with its own connection;
    yields whether that thread got it."""
    held, release, acquired = threading.Event(), threading.Event(), []

    def hold():
        try:
            with run_lock(name) as got_it:
                acquired.append(got_it)
                held.set()
                release.wait(30)
        finally:
            connections.close_all()
            held.set()

    thread = threading.Thread(target=hold)
    thread.start()
    held.wait(30)
    try:
        yield acquired == [True]
    finally:
        release.set()
        thread.join(30)
