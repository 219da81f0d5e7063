"""Prune what the chosen options do not need, write a local .env, print next steps."""

import secrets
import shutil
from pathlib import Path

BILLING_SUBJECT = "{{ cookiecutter.billing_subject }}"
PER_SEAT_BILLING = "{{ cookiecutter.per_seat_billing }}"
PROJECT_DIR = Path.cwd()
# Lines of shared modules that only one kind of build keeps sit between a start and
# an end marker (`# >>> team builds` ... `# <<< team builds` in Python, the same words
# in a Django comment in templates; likewise `user builds`). The build they name keeps
# the lines, the other loses them, and neither keeps the marker lines.
BUILD_MARKERS = {
    f"{edge} {kind} builds": (edge, kind)
    for kind in ("team", "user")
    for edge in (">>>", "<<<")
}
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


def _marker(line: str) -> tuple[str, str] | None:
    """(">>>" or "<<<", the build kind) for a marker line, else None."""
    return next((found for m, found in BUILD_MARKERS.items() if m in line), None)


def prune_build_blocks(build: str) -> None:
    """Keep the marked lines of this kind of build, drop those of the other."""
    for path in PROJECT_DIR.rglob("*"):
        if path.suffix not in MARKED_SUFFIXES or not path.is_file():
            continue
        text = path.read_text(encoding="utf-8")
        if not any(marker in text for marker in BUILD_MARKERS):
            continue
        kept, dropping = [], False
        for line in text.splitlines(keepends=True):
            marker = _marker(line)
            if marker is None:
                if not dropping:
                    kept.append(line)
            else:
                edge, kind = marker
                dropping = edge == ">>>" and kind != build
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
    prune_build_blocks(BILLING_SUBJECT)
    if PER_SEAT_BILLING == "n":
        remove_per_seat_files()
    write_dotenv()
    print_next_steps()


if __name__ == "__main__":
    main()
