"""A bake on the production stack: production settings, PostgreSQL, Redis, the Stripe
emulator on loopback, a Celery worker and gunicorn with several workers.

Production settings name no Stripe API host (they must never reach the emulator), so
the stack adds a one-line settings module beside them that points dj-stripe at the
emulator; everything else is production as `.env.production.example` describes it.
"""

import json
import os
import secrets
import signal
import subprocess
import sys
import time
from pathlib import Path

import psycopg
import requests

from .smtp_sink import SmtpSink
from services import free_port, wait_for_port

SETTINGS_MODULE = "config.settings.attack_stack"
SETTINGS_TEXT = '''"""Production settings with Stripe's API at the local emulator (attack suite)."""

from .production import *  # noqa: F403
from .production import env

STRIPE_API_HOST = env("STRIPE_EMULATOR_URL")
'''
SEED_SCRIPT = Path(__file__).with_name("seed.py")
# As the emulator prints: any key starting with sk_test_ is accepted.
SECRET_KEY = "sk_test_attacks0000000000000000000000"


class StackError(RuntimeError):
    """A part of the stack did not start; the message holds its log."""


class Process:
    """A server process in its own process group, its output in a log file."""

    def __init__(self, name, command, cwd, env, log_dir):
        self.name = name
        self.log = log_dir / f"{name}.log"
        self.popen = subprocess.Popen(
            command,
            cwd=cwd,
            env=env,
            stdout=self.log.open("w"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def alive(self):
        return self.popen.poll() is None

    def tail(self, chars=4000):
        return self.log.read_text(errors="replace")[-chars:]

    def stop(self):
        if not self.alive():
            return
        os.killpg(self.popen.pid, signal.SIGTERM)
        try:
            self.popen.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(self.popen.pid, signal.SIGKILL)
            self.popen.wait()


class Stack:
    """Start with `start()`, always `stop()`: nothing is left running."""

    def __init__(self, site, postgres, redis_server, redis_db, log_dir):
        self.site = Path(site)
        self.log_dir = Path(log_dir)
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self.processes = {}
        self.port = free_port()
        self.emulator_port = free_port()
        self.smtp = SmtpSink(free_port())
        self.url = f"http://127.0.0.1:{self.port}"
        self.emulator_url = f"http://127.0.0.1:{self.emulator_port}"
        database = f"attacks_{self.site.parent.name}".replace("-", "_").lower()[:60]
        self._create_database(postgres, database)
        emulator_src = self.site / "tools" / "stripe-emulator" / "src"
        path = os.pathsep.join([str(Path(sys.executable).parent), os.environ["PATH"]])
        self.env = {
            "PATH": path,
            "HOME": os.environ.get("HOME", "/root"),
            "LANG": "C.UTF-8",
            "PYTHONDONTWRITEBYTECODE": "1",
            "PYTHONPATH": str(emulator_src),
            "DJANGO_SETTINGS_MODULE": SETTINGS_MODULE,
            "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
            "DJANGO_DEBUG": "False",
            "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
            "SITE_URL": f"https://127.0.0.1:{self.port}",
            "DJANGO_ADMIN_URL": "control-room/",
            # Plain HTTP on loopback; the probes send X-Forwarded-Proto as a proxy does.
            "DJANGO_SECURE_SSL_REDIRECT": "False",
            "DJANGO_TRUSTED_PROXY_COUNT": "1",
            "DJANGO_DEFAULT_FROM_EMAIL": "noreply@example.com",
            "DATABASE_URL": postgres.url(database),
            "REDIS_URL": redis_server.url(redis_db),
            "EMAIL_URL": f"smtp://127.0.0.1:{self.smtp.port}",
            "STRIPE_LIVE_MODE": "False",
            "STRIPE_TEST_SECRET_KEY": SECRET_KEY,
            "STRIPE_TEST_PUBLIC_KEY": "pk_test_attacks0000000000000000000000",
            "STRIPE_EMULATOR_URL": self.emulator_url,
            "STRIPE_EMULATOR_PORT": str(self.emulator_port),
            "WEB_CONCURRENCY": "2",
            "GUNICORN_THREADS": "4",
            "PORT": str(self.port),
        }
        self.seed = None
        # Seconds each start-up command took, for the figures.
        self.timings = {}

    @staticmethod
    def _create_database(postgres, database):
        with psycopg.connect(postgres.url(), autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{database}"')
            connection.execute(f'CREATE DATABASE "{database}"')

    # Commands -----------------------------------------------------------------

    def manage(self, *args, env=None, timeout=300, check=True):
        """Run `manage.py args` with the stack's settings; the CompletedProcess."""
        started = time.monotonic()
        result = subprocess.run(
            [sys.executable, "manage.py", *map(str, args)],
            cwd=self.site,
            env={**self.env, **(env or {})},
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if args[0] != "shell":
            self.timings[args[0]] = round(time.monotonic() - started, 1)
        if check and result.returncode != 0:
            raise StackError(
                f"manage.py {' '.join(map(str, args))} exited with "
                f"{result.returncode}:\n{result.stdout[-4000:]}\n{result.stderr[-6000:]}"
            )
        return result

    def shell(self, code, timeout=120):
        """Run Python in `manage.py shell`; its stdout."""
        return self.manage("shell", "--no-imports", "-c", code, timeout=timeout).stdout

    def query(self, expression, setup="", timeout=120):
        """Evaluate an expression in the site (after `setup` code); its JSON value."""
        code = f"import json\n{setup}\nprint('RESULT ' + json.dumps({expression}))"
        for line in self.shell(code, timeout=timeout).splitlines():
            if line.startswith("RESULT "):
                return json.loads(line[len("RESULT ") :])
        raise StackError(f"no result for {expression!r}")

    # Start and stop -------------------------------------------------------------

    def _spawn(self, name, command, port=None, env=None):
        process = Process(
            name, command, self.site, {**self.env, **(env or {})}, self.log_dir
        )
        self.processes[name] = process
        if port is not None:
            try:
                wait_for_port(port, process.popen, timeout=60)
            except RuntimeError as error:
                raise StackError(f"{name}: {error}\n{process.tail()}") from error
        return process

    def start(self):
        (self.site / "config" / "settings" / "attack_stack.py").write_text(
            SETTINGS_TEXT
        )
        self.smtp.start()
        self._spawn(
            "emulator",
            [
                sys.executable,
                "-m",
                "stripe_emulator",
                "--port",
                str(self.emulator_port),
            ],
            port=self.emulator_port,
        )
        # dj-stripe's migrations take minutes on PostgreSQL (0002 alone, on a busy machine).
        self.manage("migrate", "--noinput", timeout=1200)
        self.manage("collectstatic", "--noinput")
        # The operator's set-up against the emulator, as `make dev` runs it.
        self.manage(
            "setup_local_billing",
            "--base-url",
            self.url,
            env={"STRIPE_EMULATOR": "1"},
        )
        out = self.manage("shell", "--no-imports", "-c", SEED_SCRIPT.read_text())
        seed_line = next(
            line for line in out.stdout.splitlines() if line.startswith("SEED ")
        )
        self.seed = json.loads(seed_line[len("SEED ") :])
        self._spawn(
            "worker",
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "config.celery_app",
                "worker",
                "--loglevel=info",
                "--concurrency=2",
                "--without-gossip",
                "--without-mingle",
            ],
        )
        self._spawn("web", self.gunicorn_command(), port=self.port)
        self.wait_until_answering()
        return self

    def gunicorn_command(self):
        bind = ["--bind", f"127.0.0.1:{self.port}"]
        if (self.site / "gunicorn.conf.py").exists():
            return [
                sys.executable,
                "-m",
                "gunicorn",
                "--config",
                "gunicorn.conf.py",
                *bind,
                "config.wsgi",
            ]
        return [
            sys.executable,
            "-m",
            "gunicorn",
            "config.wsgi",
            "--workers",
            "2",
            "--threads",
            "4",
            "--worker-class",
            "gthread",
            "--timeout",
            "60",
            *bind,
        ]

    def wait_until_answering(self, timeout=60):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                requests.get(
                    self.url + "/", headers={"X-Forwarded-Proto": "https"}, timeout=5
                )
                return
            except requests.RequestException:
                time.sleep(0.3)
        raise StackError("gunicorn never answered:\n" + self.processes["web"].tail())

    def stop(self):
        for process in reversed(list(self.processes.values())):
            process.stop()
        self.smtp.stop()

    # Emulator control -----------------------------------------------------------

    def emulator(self, verb, route, **data):
        """Call a control route of the emulator; its JSON answer."""
        response = requests.request(
            verb, f"{self.emulator_url}/_emulator/{route}", data=data, timeout=30
        )
        response.raise_for_status()
        return response.json()

    def fault(self, path, status, times=50, method=None, hang_seconds=None):
        data = {"path": path, "status": status, "times": times}
        if method:
            data["method"] = method
        if hang_seconds is not None:
            data["hang_seconds"] = hang_seconds
        return self.emulator("POST", "faults", **data)

    def clear_faults(self):
        return self.emulator("DELETE", "faults")
