"""Celery works with no server: a real worker consumes from the folder broker."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from apps.web.tasks import ping

PROJECT_DIR = Path(__file__).resolve().parents[3]


def test_ping_runs_eagerly_in_tests():
    assert ping.delay().get() == "pong"


@pytest.fixture
def local_worker(tmp_path):
    """A real worker on local settings, with no REDIS_URL, in a private folder."""
    environ = dict(
        os.environ,
        DJANGO_SETTINGS_MODULE="config.settings.local",
        CELERY_DATA_DIR=str(tmp_path),
        REDIS_URL="",
    )
    worker = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "config.celery_app",
            "worker",
            "--pool=solo",
            "--loglevel=warning",
        ],
        cwd=PROJECT_DIR,
        env=environ,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    yield environ
    worker.terminate()
    worker.wait(timeout=30)


def test_a_real_worker_answers_through_the_folder_broker(local_worker):
    script = (
        "import django; django.setup(); "
        "from apps.web.tasks import ping; "
        "print(ping.delay().get(timeout=60))"
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=PROJECT_DIR,
        env=local_worker,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.stdout.strip() == "pong", result.stderr
