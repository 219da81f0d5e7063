"""gunicorn.conf.py, as the Procfile runs it: sized above the longest wait on Stripe, so
that a hung Stripe costs one visitor at most 15 s and a 503 page while the same
process serves everyone else."""

import http.client
import json
import os
import runpy
import shlex
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from django.conf import settings

from apps.subscriptions.stripe_client import worst_case_seconds
from tests.processes import (
    EMULATOR_MISSING,
    PROJECT_DIR,
    Processes,
    emulator_installed,
    free_port,
    require,
    wait_for,
)

CONFIG = PROJECT_DIR / "gunicorn.conf.py"
GUNICORN_VARIABLES = (
    "PORT",
    "WEB_CONCURRENCY",
    "GUNICORN_THREADS",
    "GUNICORN_TIMEOUT",
    "GUNICORN_GRACEFUL_TIMEOUT",
    "GUNICORN_KEEPALIVE",
    "FORWARDED_ALLOW_IPS",
)
# What the site promises a visitor when Stripe hangs.
WORST_CASE_BOUND = 15


def load_config(monkeypatch, **environ) -> dict:
    """gunicorn.conf.py's settings, read with `environ` and no other of its variables."""
    for name in GUNICORN_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    for name, value in environ.items():
        monkeypatch.setenv(name, value)
    return runpy.run_path(str(CONFIG))


def procfile_command(name: str, path: Path = PROJECT_DIR / "Procfile") -> str:
    for line in path.read_text().splitlines():
        process, sep, command = line.partition(":")
        if sep and process.strip() == name:
            return command.strip()
    raise AssertionError(f"no {name} process in {path.name}")


def test_the_timeouts_are_above_the_longest_wait_on_stripe(monkeypatch):
    config = load_config(monkeypatch)
    worst = worst_case_seconds(
        settings.STRIPE_HTTP_TIMEOUT_SECONDS, settings.STRIPE_MAX_NETWORK_RETRIES
    )
    assert worst < WORST_CASE_BOUND < config["timeout"]
    assert worst < config["graceful_timeout"]


def test_threads_serve_requests_side_by_side_by_default(monkeypatch):
    config = load_config(monkeypatch)
    assert config["worker_class"] == "gthread"
    assert config["threads"] == 4
    assert 1 <= config["workers"] <= 4
    assert config["bind"] == ["0.0.0.0:8000"]
    assert config["accesslog"] == "-"


def test_the_platform_sizes_it_from_the_environment(monkeypatch):
    config = load_config(
        monkeypatch,
        PORT="5123",
        WEB_CONCURRENCY="3",
        GUNICORN_THREADS="8",
        GUNICORN_TIMEOUT="45",
        FORWARDED_ALLOW_IPS="10.0.0.2",
    )
    assert config["bind"] == ["0.0.0.0:5123"]
    assert (config["workers"], config["threads"], config["timeout"]) == (3, 8, 45)
    assert config["forwarded_allow_ips"] == "10.0.0.2"


def test_production_runs_gunicorn_with_this_config_and_development_does_not():
    assert shlex.split(procfile_command("web")) == [
        "gunicorn",
        "--config",
        "gunicorn.conf.py",
        "config.wsgi",
    ]
    assert procfile_command("release") == "python manage.py migrate --noinput"
    assert "runserver" in procfile_command("web", PROJECT_DIR / "Procfile.dev")


# The site's data, printed as JSON: the tables straight from the models, as the test
# database is made (quicker than every migration on PostgreSQL, and they have tests
# of their own); the demo catalogue; a signed-in user who manages a subscriber's
# billing, and the pricing page's link to Checkout for a monthly price (a GET: no
# CSRF token to fetch first).
SET_UP_DATA = """
import json
from django.conf import settings
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from djstripe.models import Price
from apps.subscriptions.subscribers import billing_adapter
from apps.users.models import User


class NoMigrations(dict):
    def __contains__(self, app_label):
        return True

    def __getitem__(self, app_label):
        return None


settings.MIGRATION_MODULES = NoMigrations()
call_command("migrate", run_syncdb=True, verbosity=0)
call_command("bootstrap_subscriptions", create_demo_products=True, verbosity=0)
user = User.objects.create_user(email="buyer@example.com")
billing_adapter().create_subscriber(user)
client = Client()
client.force_login(user)
price = next(
    price for price in Price.objects.all()
    if (price.stripe_data.get("recurring") or {}).get("interval") == "month"
)
print(json.dumps({
    "cookie": f"sessionid={client.cookies['sessionid'].value}",
    "checkout": reverse("pricing:checkout", kwargs={"price_id": price.id}),
}))
"""


class ProductionSite:
    """PostgreSQL, the Stripe emulator and the Procfile's web process on loopback."""

    def __init__(self, workdir: Path):
        from tests.postgres import PostgresServer

        self.database = PostgresServer()
        self.processes = Processes(workdir)
        self.emulator_url = f"http://127.0.0.1:{free_port()}"
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        venv_bin = str(Path(sys.executable).parent)
        environ = {
            name: value
            for name, value in os.environ.items()
            if name not in GUNICORN_VARIABLES
        }
        self.env = {
            **environ,
            "PATH": f"{venv_bin}{os.pathsep}{os.environ['PATH']}",
            # Local settings, for the emulator that production refuses.
            "DJANGO_SETTINGS_MODULE": "config.settings.local",
            "STRIPE_EMULATOR": "1",
            "STRIPE_EMULATOR_URL": self.emulator_url,
            "STRIPE_TEST_SECRET_KEY": "sk_test_" + "gunicorn" * 4,
            "CELERY_DATA_DIR": str(workdir / "celery"),
            # One process, so that only its threads can serve the others.
            "PORT": str(self.port),
            "WEB_CONCURRENCY": "1",
            # gunicorn's control socket, out of the home folder.
            "XDG_RUNTIME_DIR": str(workdir),
            "PYTHONUNBUFFERED": "1",
        }

    def start(self) -> None:
        self.database.start()
        self.env["DATABASE_URL"] = self.database.url()
        port = int(self.emulator_url.rsplit(":", 1)[1])
        self.processes.start(
            "emulator",
            [sys.executable, "-m", "stripe_emulator", "--port", str(port)],
            self.env,
            port=port,
        )
        data = subprocess.run(
            [sys.executable, "manage.py", "shell", "-c", SET_UP_DATA],
            cwd=PROJECT_DIR,
            env=self.env,
            capture_output=True,
            text=True,
            check=False,
        )
        assert data.returncode == 0, data.stdout + data.stderr
        self.buyer = json.loads(data.stdout.splitlines()[-1])
        # As a platform runs a Procfile line: through the shell, with PORT set.
        web = procfile_command("web")
        self.processes.start("web", ["sh", "-c", f"exec {web}"], self.env, self.port)

    def stop(self) -> None:
        try:
            self.processes.stop_all()
        finally:
            self.database.stop()

    def hang_checkout(self) -> None:
        """Checkout sessions hang for longer than any timeout, then drop."""
        self.emulator_control(
            "POST",
            path="/v1/checkout/sessions",
            method="POST",
            status="timeout",
            hang_seconds=str(WORST_CASE_BOUND + 10),
            times="10",
        )

    def checkout_hangs_now(self) -> bool:
        [fault] = self.emulator_control("GET")["faults"]
        return fault["remaining"] < 10

    def emulator_control(self, verb: str, **params) -> dict:
        data = urllib.parse.urlencode(params).encode() if params else None
        request = urllib.request.Request(
            f"{self.emulator_url}/_emulator/faults", data=data, method=verb
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.loads(response.read())

    def get(self, path: str, cookie: str = "") -> tuple[int, dict, str, float]:
        """Status, headers, body and seconds of one GET, redirects not followed."""
        started = time.monotonic()
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        try:
            connection.request(
                "GET", path, headers={"Cookie": cookie} if cookie else {}
            )
            response = connection.getresponse()
            body = response.read().decode()
            headers = {name.lower(): value for name, value in response.getheaders()}
        finally:
            connection.close()
        return response.status, headers, body, time.monotonic() - started


@pytest.fixture
def production_site(tmp_path):
    require(emulator_installed(), EMULATOR_MISSING)
    site = ProductionSite(tmp_path)
    try:
        site.start()
        yield site
    finally:
        site.stop()


def test_a_hung_stripe_costs_one_visitor_a_503_page_and_nobody_else_anything(
    production_site,
):
    site = production_site
    buyer = site.buyer
    # Each thread of the process has loaded the site before the clock starts.
    with ThreadPoolExecutor(max_workers=4) as pool:
        warm = list(pool.map(lambda _: site.get("/"), range(8)))
    assert {status for status, *_ in warm} == {200}
    site.hang_checkout()

    answers = []
    buying = threading.Thread(
        target=lambda: answers.append(site.get(buyer["checkout"], buyer["cookie"]))
    )
    buying.start()
    wait_for(site.checkout_hangs_now, "the Checkout call to hang", timeout=30)
    with ThreadPoolExecutor(max_workers=6) as pool:
        others = list(pool.map(lambda _: site.get("/"), range(6)))
    still_hanging = buying.is_alive()
    buying.join(timeout=60)

    assert [status for status, *_ in others] == [200] * 6
    assert max(seconds for *_, seconds in others) < 3, [s for *_, s in others]
    assert still_hanging, "the others were served only after Checkout ended"
    [(status, headers, body, seconds)] = answers
    assert status == 503, site.processes.logs()
    assert headers["retry-after"] == "30"
    assert "Billing is unavailable right now" in body
    assert seconds < WORST_CASE_BOUND
