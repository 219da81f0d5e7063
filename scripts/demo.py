"""`make demo`: bake a default site into demo/, prepare it, and serve it with its workers.

Each step is a small function that main() calls in order, so later steps (starting the
Stripe emulator, creating a demo catalogue, registering the webhook endpoint) slot in
beside the others. Re-running reuses the baked site, its database and its demo user,
as long as the template has not changed since it was baked.
"""

import hashlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent
# Where the site is baked and which ports it serves on; the template's own test of
# this script moves them out of the way of a demo that is already running.
DEMO_DIR = Path(os.environ.get("DEMO_DIR", REPO_ROOT / "demo")).resolve()
HOST = "127.0.0.1"
PORT = int(os.environ.get("DEMO_PORT", "8000"))
EMULATOR_PORT = int(os.environ.get("DEMO_EMULATOR_PORT", "12111"))
DEMO_EMAIL = "demo@example.com"
DEMO_PASSWORD = "demo-password-2024"

# Runs inside `manage.py shell`: the demo user, verified, signed up through the site's
# own signal so that team builds give it its team like any new user.
CREATE_DEMO_USER = """
from allauth.account.models import EmailAddress
from allauth.account.signals import user_signed_up
from django.contrib.auth import get_user_model

User = get_user_model()
user, created = User.objects.get_or_create(email={email!r})
user.set_password({password!r})
user.save()
EmailAddress.objects.update_or_create(
    user=user, email=user.email, defaults={{"verified": True, "primary": True}}
)
if created:
    user_signed_up.send(sender=User, request=None, user=user)
"""

# The demo's processes, each a command run in the baked site with the venv on PATH.
PROCESSES = {
    "web": ["python", "manage.py", "runserver", f"{HOST}:{PORT}"],
    "worker": [
        "celery",
        "-A",
        "config.celery_app",
        "worker",
        "--loglevel",
        "INFO",
        "--pool",
        "solo",
    ],
    "beat": ["celery", "-A", "config.celery_app", "beat", "--loglevel", "INFO"],
}


def site_env(**overrides):
    """Environment for the baked site: the venv first on PATH, local settings."""
    env = dict(os.environ)
    env["PATH"] = f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}"
    env["DJANGO_SETTINGS_MODULE"] = "config.settings.local"
    # Billing talks to the local Stripe emulator: no Stripe account needed.
    env["STRIPE_EMULATOR"] = "1"
    env["STRIPE_EMULATOR_URL"] = f"http://{HOST}:{EMULATOR_PORT}"
    env.update(overrides)
    return env


def manage(site, *args, **kwargs):
    """Run a manage.py command in the baked site; stop the demo if it fails."""
    subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=site,
        env=site_env(),
        check=True,
        **kwargs,
    )


def shown(path):
    """A path as the reader knows it: relative to the repository when inside it."""
    return path.relative_to(REPO_ROOT) if path.is_relative_to(REPO_ROOT) else path


def check_ports_free():
    """Stop with one line when another process already holds a port the demo needs."""
    for port, variable in ((PORT, "DEMO_PORT"), (EMULATOR_PORT, "DEMO_EMULATOR_PORT")):
        with socket.socket() as sock:
            if sock.connect_ex((HOST, port)) == 0:
                sys.exit(
                    f"Port {port} on {HOST} is already in use (another demo or make dev?);"
                    f" stop that process or set {variable} to a free port"
                )


def template_fingerprint():
    """A hash of the template's files, to tell whether demo/ was baked from this version."""
    digest = hashlib.sha256()
    sources = [REPO_ROOT / "cookiecutter.json", *(REPO_ROOT / "hooks").rglob("*")]
    sources += (REPO_ROOT / "{{cookiecutter.project_slug}}").rglob("*")
    for path in sorted(sources):
        if path.is_file() and "__pycache__" not in path.parts:
            digest.update(str(path.relative_to(REPO_ROOT)).encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()


def bake():
    """Bake the template with its default answers into demo/, reusing a bake of the same template."""
    fingerprint = template_fingerprint()
    stamp = DEMO_DIR / ".template-fingerprint"
    existing = [path.parent for path in DEMO_DIR.glob("*/manage.py")]
    if existing and stamp.is_file() and stamp.read_text().strip() == fingerprint:
        print(f"Reusing {shown(existing[0])} (make demo-clean bakes afresh)")
        return existing[0]
    if DEMO_DIR.exists():
        # An older template's site would show stale code: start again from the current one.
        print("The template changed since the last demo: baking afresh")
        shutil.rmtree(DEMO_DIR)
    subprocess.run(
        [VENV_BIN / "cookiecutter", "--no-input", "--output-dir", DEMO_DIR, REPO_ROOT],
        check=True,
    )
    stamp.write_text(fingerprint + "\n")
    return next(path.parent for path in DEMO_DIR.glob("*/manage.py"))


def migrate(site):
    """Create or update the demo database."""
    manage(site, "migrate", "--noinput")


def create_demo_user(site):
    """Create the demo user (or reset its password) and return its credentials."""
    manage(
        site,
        "shell",
        "--verbosity",
        "0",
        "-c",
        CREATE_DEMO_USER.format(email=DEMO_EMAIL, password=DEMO_PASSWORD),
    )
    return DEMO_EMAIL, DEMO_PASSWORD


def start_emulator(site):
    """Start the Stripe emulator (state kept in the site folder) and wait for it."""
    command = [
        sys.executable,
        "-m",
        "stripe_emulator",
        "--port",
        str(EMULATOR_PORT),
        "--state",
        ".stripe-emulator.json",
    ]
    emulator = subprocess.Popen(
        command, cwd=site, env=site_env(), start_new_session=True
    )
    for _ in range(100):
        with socket.socket() as sock:
            if sock.connect_ex((HOST, EMULATOR_PORT)) == 0:
                return emulator
        time.sleep(0.1)
    os.killpg(emulator.pid, signal.SIGTERM)
    sys.exit(f"The Stripe emulator did not start on port {EMULATOR_PORT}")


def prepare_billing(site):
    """What the site's own `make dev` does first: the demo catalogue, the webhook
    endpoint and the portal configuration, each only when missing."""
    # It runs no system checks of its own: they would warn about what it sets up.
    manage(site, "setup_local_billing", "--base-url", f"http://{HOST}:{PORT}")


def serve(site, processes):
    """Run every process until Ctrl-C (or one of them exits), then stop them all."""
    # `kill` (SIGTERM) stops the demo as cleanly as Ctrl-C does.
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(0))
    children = {
        name: subprocess.Popen(
            command, cwd=site, env=site_env(), start_new_session=True
        )
        for name, command in processes.items()
    }
    try:
        os.wait()  # returns when the first child exits
    except (KeyboardInterrupt, SystemExit):
        pass
    finally:
        for child in children.values():
            if child.poll() is None:
                os.killpg(child.pid, signal.SIGTERM)
        for child in children.values():
            try:
                child.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(child.pid, signal.SIGKILL)


def main():
    if shutil.which("cookiecutter", path=str(VENV_BIN)) is None:
        sys.exit(
            "cookiecutter is not installed in this venv: run `make demo`, not this script"
        )
    check_ports_free()
    site = bake()
    migrate(site)
    emulator = start_emulator(site)
    # From here on the emulator runs: a step that fails must not leave it behind.
    try:
        prepare_billing(site)
        email, password = create_demo_user(site)
        print(
            f"\nDemo site: http://{HOST}:{PORT}/\n"
            f"Log in as {email} with password {password}\n"
            f"Site folder: {shown(site)}  (Ctrl-C stops the demo)\n",
            flush=True,
        )
        serve(site, PROCESSES)
    finally:
        os.killpg(emulator.pid, signal.SIGTERM)
        emulator.wait(timeout=10)


if __name__ == "__main__":
    main()
