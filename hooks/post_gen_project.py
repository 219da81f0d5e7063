"""Prune what the chosen options do not need, write a local .env, print next steps."""

import secrets
import shutil
from pathlib import Path

BILLING_SUBJECT = "{{ cookiecutter.billing_subject }}"
PER_SEAT_BILLING = "{{ cookiecutter.per_seat_billing }}"
PROJECT_DIR = Path.cwd()


def remove(*relative_paths: str) -> None:
    for relative in relative_paths:
        path = PROJECT_DIR / relative
        if path.is_dir():
            shutil.rmtree(path)
        elif path.exists():
            path.unlink()


def remove_teams_files() -> None:
    """Users pay for themselves: no teams, so the app goes with its tests."""
    remove("apps/teams")


def remove_user_subscriber_files() -> None:
    """Teams pay, so users carry no subscription fields, billing adapter or links."""
    remove(
        "apps/users/billing.py",
        "apps/users/context_processors.py",
        "apps/users/migrations/0002_subscriber_fields.py",
        "apps/users/templates",
        "apps/users/tests/test_seats.py",
        "apps/users/tests/test_workspace_example.py",
    )


def remove_per_seat_files() -> None:
    """Without per-seat billing, beat schedules no seat sync to watch end to end."""
    remove("apps/teams/tests/test_celery_beat_worker.py")


def remove_tool_caches() -> None:
    """Caches that running tools in the template folder left there are not the site's."""
    for name in ("__pycache__", ".ruff_cache", ".pytest_cache"):
        for path in list(PROJECT_DIR.rglob(name)):
            shutil.rmtree(path, ignore_errors=True)


def write_dotenv() -> None:
    """A local .env with a fresh secret key, read by the local settings."""
    secret_key = secrets.token_urlsafe(50)
    env_file = PROJECT_DIR / ".env"
    env_file.write_text(
        "# Local settings for development; never commit this file.\n"
        f"DJANGO_SECRET_KEY={secret_key}\n"
        "DJANGO_DEBUG=True\n"
        "# Stripe calls go to the local emulator that make dev starts.\n"
        "STRIPE_EMULATOR=1\n"
    )
    env_file.chmod(0o600)


def print_next_steps() -> None:
    print(
        f"\nYour site is in {PROJECT_DIR}\n\n"
        "Next steps:\n"
        f"    cd {PROJECT_DIR.name}\n"
        "    make install     # create .venv and install the pinned dependencies\n"
        "    make migrate     # create the local SQLite database\n"
        "    make dev         # web, worker, beat, Stripe emulator: http://127.0.0.1:8000\n"
        "    make test        # run the test suite\n"
    )


def main() -> None:
    if BILLING_SUBJECT == "user":
        remove_teams_files()
    else:
        remove_user_subscriber_files()
    remove_tool_caches()
    if PER_SEAT_BILLING == "n":
        remove_per_seat_files()
    write_dotenv()
    print_next_steps()


if __name__ == "__main__":
    main()
