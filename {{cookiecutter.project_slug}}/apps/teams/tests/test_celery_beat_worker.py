"""A real Celery worker pushes a team's new seat to Stripe (emulated) as soon as the
member joins, and beat's scheduled sync puts back a quantity changed outside the site.

Everything runs as separate processes on loopback, as in production: the Stripe
emulator over HTTP, Redis (a throwaway redis-server, or REDIS_URL) or else the
folder broker, a SQLite file database shared by the site's processes, a worker and
beat with a one-second sync interval. REQUIRE_SERVICES=1 makes a missing Redis fail.
"""

import json
import os
import shutil
import subprocess
import sys
import textwrap
import urllib.request

import pytest

from tests.processes import (
    EMULATOR_MISSING,
    PROJECT_DIR,
    Processes,
    emulator_installed,
    free_port,
    require,
    wait_for,
)

API_KEY = "sk_test_emulator0000000000000000000000"

# Apps whose tables `migrate --run-syncdb` creates straight from the models.
APP_LABELS = (
    "admin",
    "auth",
    "contenttypes",
    "sessions",
    "sites",
    "account",
    "mfa",
    "djstripe",
    "users",
    "teams",
    "subscriptions",
    "web",
)


def settings_module(tmp_path) -> str:
    """Local settings with this test's database tables, broker folder and beat file."""
    queue, results = str(tmp_path / "queue"), str(tmp_path / "results")
    transport = {
        "data_folder_in": queue,
        "data_folder_out": queue,
        "processed_folder": queue,
        "store_processed": False,
    }
    return "\n".join(
        [
            "from config.settings.local import *  # noqa: F403",
            # No migrations: tables straight from the models are faster to make.
            f"MIGRATION_MODULES = {dict.fromkeys(APP_LABELS)!r}",
            f"CELERY_BEAT_SCHEDULE_FILENAME = {str(tmp_path / 'beat-schedule')!r}",
            "if not REDIS_URL:  # noqa: F405",
            f"    CELERY_BROKER_TRANSPORT_OPTIONS = {transport!r}",
            f"    CELERY_RESULT_BACKEND = {'file://' + results!r}",
            "",
        ]
    )


SUBSCRIBE = """
import json
from apps.subscriptions.tests.seat_scenario import create_price, new_user, subscribe
from apps.teams.membership import add_member, create_team
team = create_team(name="Seats", owner=new_user())
add_member(team=team, user=new_user())
subscription = subscribe(team, create_price())
print(json.dumps({"team": team.pk, "subscription": subscription["id"]}))
"""

ADD_MEMBER = """
from apps.subscriptions.tests.seat_scenario import new_user
from apps.teams.membership import add_member
from apps.teams.models import Team
add_member(team=Team.objects.get(pk={team}), user=new_user())
"""

# The quantity lowered in Stripe (as in its Dashboard) and mirrored locally, as the
# webhook would; the team's seats do not change.
LOWER_IN_STRIPE = """
import stripe
from apps.subscriptions.stripe_client import stripe_options
from apps.subscriptions.transitions import apply_subscription
subscription = stripe.Subscription.retrieve("{subscription}", **stripe_options())
item = subscription["items"]["data"][0]
stripe.Subscription.modify(
    "{subscription}", items=[dict(id=item["id"], quantity=1)], **stripe_options()
)
apply_subscription("{subscription}")
"""


@pytest.fixture
def processes(tmp_path):
    started = Processes(tmp_path)
    yield started
    started.stop_all()


@pytest.fixture
def redis_url(processes):
    """REDIS_URL if set, else a throwaway redis-server, else "" (the folder broker)."""
    if os.environ.get("REDIS_URL"):
        return os.environ["REDIS_URL"]
    server = shutil.which("redis-server")
    if server is None:
        if os.environ.get("REQUIRE_SERVICES") == "1":
            pytest.fail("REQUIRE_SERVICES=1 but there is no redis-server or REDIS_URL")
        return ""  # the folder broker stands in
    port = free_port()
    processes.start(
        "redis",
        [server, "--port", str(port), "--save", "", "--appendonly", "no"],
        port=port,
    )
    return f"redis://127.0.0.1:{port}/0"


@pytest.fixture
def site_env(tmp_path, processes, redis_url):
    """The environment of the site's processes, with the emulator started."""
    require(emulator_installed(), EMULATOR_MISSING)
    (tmp_path / "queue").mkdir()
    (tmp_path / "results").mkdir()
    (tmp_path / "seat_settings.py").write_text(settings_module(tmp_path))
    port = free_port()
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(tmp_path), str(PROJECT_DIR)]),
        "DJANGO_SETTINGS_MODULE": "seat_settings",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        "REDIS_URL": redis_url,
        "STRIPE_EMULATOR": "1",
        "STRIPE_EMULATOR_URL": f"http://127.0.0.1:{port}",
        "STRIPE_TEST_SECRET_KEY": API_KEY,
        "SUBSCRIPTIONS_SYNC_INTERVAL": "1",
        "CELERY_TASK_ALWAYS_EAGER": "0",
    }
    processes.start(
        "emulator",
        [sys.executable, "-m", "stripe_emulator", "--port", str(port)],
        env,
        port=port,
    )
    env["EMULATOR_PORT"] = str(port)
    return env


def manage(env, *args, timeout=120) -> str:
    result = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=PROJECT_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout


def emulator_quantity(env, subscription_id) -> int:
    request = urllib.request.Request(
        f"http://127.0.0.1:{env['EMULATOR_PORT']}/v1/subscriptions/{subscription_id}",
        headers={"Authorization": f"Bearer {API_KEY}"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.load(response)["items"]["data"][0]["quantity"]


def test_a_worker_pushes_a_new_seat_and_beat_corrects_stripe(site_env, processes):
    try:
        push_seats_through_celery(site_env, processes)
    except BaseException:
        # The processes' own logs say why, where an assertion alone cannot.
        print(processes.logs())
        raise


def push_seats_through_celery(site_env, processes):
    manage(site_env, "migrate", "--run-syncdb", "--verbosity", "0")
    output = manage(site_env, "shell", "-c", SUBSCRIBE)
    created = json.loads(output.strip().splitlines()[-1])
    assert emulator_quantity(site_env, created["subscription"]) == 2
    celery = [sys.executable, "-m", "celery", "-A", "config.celery_app"]
    worker = processes.start(
        "worker",
        [
            *celery,
            "worker",
            "--pool",
            "solo",
            "--loglevel",
            "INFO",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
        ],
        site_env,
    )

    # No beat yet: the sync queued when the member joins carries the seat alone.
    manage(site_env, "shell", "-c", textwrap.dedent(ADD_MEMBER.format(**created)))
    wait_for(
        lambda: emulator_quantity(site_env, created["subscription"]) == 3,
        "the third seat to reach the emulator",
        [worker],
    )
    assert "sync_subscriber_task" in (processes.log_dir / "worker.log").read_text()

    manage(site_env, "shell", "-c", textwrap.dedent(LOWER_IN_STRIPE.format(**created)))
    assert emulator_quantity(site_env, created["subscription"]) == 1
    beat = processes.start(
        "beat", [*celery, "beat", "--loglevel", "INFO", "--max-interval", "1"], site_env
    )
    wait_for(
        lambda: emulator_quantity(site_env, created["subscription"]) == 3,
        "beat's sync to put the three seats back",
        [worker, beat],
    )
    assert "sync_subscriptions_task" in (processes.log_dir / "beat.log").read_text()
