"""Prune what the chosen options do not need, write a local .env, print next steps."""

import secrets
import shutil
from pathlib import Path

BILLING_SUBJECT = "{{ cookiecutter.billing_subject }}"
PER_SEAT_BILLING = "{{ cookiecutter.per_seat_billing }}"
PROJECT_DIR = Path.cwd()
# Lines of shared modules that only team builds keep, between a line holding the
# start marker and one holding the end marker (a `# >>> team builds` comment in
# Python, the same words in a Django comment in templates). Team builds lose just
# the marker lines.
TEAM_BLOCK_START = ">>> team builds"
TEAM_BLOCK_END = "<<< team builds"
MARKED_SUFFIXES = (".py", ".html", ".txt", ".md")


def remove(*relative_paths: str) -> None:
    for relative in relative_paths:
        path = PROJECT_DIR / relative
        if path.is_dir():
            shutil.rmtree(path)
        elif path.exists():
            path.unlink()


def remove_teams_files() -> None:
    """User builds have no teams: the app, its templates and tests go together."""
    remove(
        "apps/teams",
        "apps/subscriptions/tests/test_team_billing.py",
        "apps/subscriptions/tests/test_seats_team.py",
        "apps/subscriptions/tests/test_celery_beat_worker.py",
    )


def prune_team_blocks(keep: bool) -> None:
    """Keep or drop the marked team-only lines of every shared file."""
    for path in PROJECT_DIR.rglob("*"):
        if path.suffix not in MARKED_SUFFIXES or not path.is_file():
            continue
        text = path.read_text(encoding="utf-8")
        if TEAM_BLOCK_START not in text:
            continue
        kept, inside = [], False
        for line in text.splitlines(keepends=True):
            if TEAM_BLOCK_START in line:
                inside = True
            elif TEAM_BLOCK_END in line:
                inside = False
            elif keep or not inside:
                kept.append(line)
        path.write_text("".join(kept), encoding="utf-8")


def remove_user_subscriber_files() -> None:
    """Team builds bill the team, so users carry no subscription fields."""
    remove(
        "apps/users/migrations/0002_subscriber_fields.py",
        "apps/web/tests/test_user_build.py",
        "apps/subscriptions/tests/test_seats_user.py",
    )


def remove_per_seat_files() -> None:
    """Without per-seat billing beat schedules no seat sync to watch end to end."""
    remove("apps/subscriptions/tests/test_celery_beat_worker.py")


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
    prune_team_blocks(keep=BILLING_SUBJECT == "team")
    if PER_SEAT_BILLING == "n":
        remove_per_seat_files()
    write_dotenv()
    print_next_steps()


if __name__ == "__main__":
    main()
