"""One option set against real services: its suite on PostgreSQL, a task through Celery and Redis."""

import subprocess
import sys
import uuid

import pytest

from conftest import bake_into, option_set_params, project_env, run
from test_bakes import run_generated_suite

SERVICE_OPTION_SET = option_set_params(
    lambda answers: answers == {"billing_subject": "team", "per_seat_billing": "y"}
)

# Sends the site's own ping task through the broker and prints what the test checks.
SEND_TASK = """
from config.celery_app import app
result = app.send_task("apps.web.tasks.ping")
print(app.conf.broker_url.split(":")[0], result.id, result.get(timeout=60))
"""


# The longest run of the kit, on a bake of its own so it has a worker to itself.
@pytest.mark.xdist_group("postgres")
def test_generated_suite_passes_on_postgresql(postgres, tmp_path):
    bake = bake_into("team-per-seat", tmp_path / "bake")
    figures = run_generated_suite(
        bake, tmp_path, "postgres_suite", DATABASE_URL=postgres.url("kit")
    )

    assert int(figures["tests"]) > 0
    assert figures["failures"] == figures["errors"] == "0"


@pytest.mark.parametrize("bake", SERVICE_OPTION_SET, indirect=True)
def test_task_runs_on_a_real_worker_through_redis(bake, redis_server, tmp_path):
    env = project_env(
        REDIS_URL=redis_server.url(), DJANGO_SETTINGS_MODULE="config.settings.local"
    )
    worker_log = tmp_path / "worker.log"
    worker_name = f"kit-{uuid.uuid4().hex[:8]}@localhost"
    command = [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "config.celery_app",
        "worker",
        "--pool",
        "solo",
    ]
    command += [
        "--loglevel",
        "INFO",
        "--without-gossip",
        "--without-mingle",
        "--hostname",
        worker_name,
    ]
    with worker_log.open("w") as log:
        worker = subprocess.Popen(
            command, cwd=bake.path, env=env, stdout=log, stderr=subprocess.STDOUT
        )
    try:
        sent = run(
            [sys.executable, "-c", SEND_TASK], cwd=bake.path, env=env, timeout=120
        )
    finally:
        worker.terminate()
        worker.wait(timeout=30)

    transport, task_id, value = sent.stdout.split(maxsplit=2)
    assert transport == "redis"
    assert value.strip() == "pong"
    assert f"Task apps.web.tasks.ping[{task_id}] succeeded" in worker_log.read_text()
