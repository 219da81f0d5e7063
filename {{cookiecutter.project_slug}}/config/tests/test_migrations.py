"""The real migrations, which the rest of the suite skips (--nomigrations)."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

PROJECT_DIR = Path(__file__).resolve().parents[2]


def manage(*args, database_url):
    environ = dict(
        os.environ,
        DJANGO_SETTINGS_MODULE="config.settings.test",
        DATABASE_URL=database_url,
    )
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=PROJECT_DIR,
        env=environ,
        capture_output=True,
        text=True,
        check=False,
    )


@pytest.mark.migrations
def test_migrations_apply_to_a_fresh_database_and_match_the_models(tmp_path):
    database_url = f"sqlite:///{tmp_path / 'fresh.sqlite3'}"
    migrated = manage("migrate", "--noinput", database_url=database_url)
    assert migrated.returncode == 0, migrated.stderr
    pending = manage("migrate", "--check", database_url=database_url)
    assert pending.returncode == 0, pending.stdout
    drift = manage("makemigrations", "--check", "--dry-run", database_url=database_url)
    assert drift.returncode == 0, drift.stdout
