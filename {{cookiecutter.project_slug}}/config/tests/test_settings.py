"""Production refuses unsafe settings; the sample environment passes every check."""

import os
import runpy
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

PROJECT_DIR = Path(__file__).resolve().parents[2]
GOOD_KEY = secrets.token_urlsafe(50)


def load_production(monkeypatch, **environ):
    monkeypatch.setenv("DATABASE_URL", "sqlite:///unused.sqlite3")
    monkeypatch.setenv("REDIS_URL", "redis://localhost:6379/0")
    monkeypatch.setenv("DJANGO_ADMIN_URL", "control-room/")
    monkeypatch.delenv("DJANGO_DEBUG", raising=False)
    monkeypatch.delenv("DJANGO_SECRET_KEY", raising=False)
    monkeypatch.delenv("STRIPE_EMULATOR", raising=False)
    for name, value in environ.items():
        monkeypatch.setenv(name, value)
    return runpy.run_module("config.settings.production")


@pytest.mark.parametrize(
    ("environ", "reason"),
    [
        ({}, "DJANGO_SECRET_KEY is not set"),
        ({"DJANGO_SECRET_KEY": "short"}, "DJANGO_SECRET_KEY is insecure"),
        (
            {"DJANGO_SECRET_KEY": "django-insecure-" + GOOD_KEY},
            "DJANGO_SECRET_KEY is insecure",
        ),
        ({"DJANGO_SECRET_KEY": "a" * 60}, "DJANGO_SECRET_KEY is insecure"),
        (
            {"DJANGO_SECRET_KEY": GOOD_KEY, "DJANGO_DEBUG": "True"},
            "DJANGO_DEBUG is on",
        ),
    ],
)
def test_production_refuses_to_start(monkeypatch, environ, reason):
    with pytest.raises(SystemExit) as refused:
        load_production(monkeypatch, **environ)
    message = str(refused.value.code)
    assert reason in message
    assert "\n" not in message


def test_production_starts_with_a_random_key(monkeypatch):
    settings = load_production(monkeypatch, DJANGO_SECRET_KEY=GOOD_KEY)
    assert settings["DEBUG"] is False
    assert settings["ACCOUNT_EMAIL_VERIFICATION"] == "mandatory"
    assert "STRIPE_API_HOST" not in settings


def sample_environment(**overrides):
    """.env.production.example with a fresh key, and nothing else of this process's
    environment (a developer's STRIPE_EMULATOR=1, say) but the PATH."""
    environ = {"PATH": os.environ["PATH"]}
    for line in (PROJECT_DIR / ".env.production.example").read_text().splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.partition("=")
            environ[name] = value
    environ.update(DJANGO_SECRET_KEY=GOOD_KEY, **overrides)
    return environ


def run_deploy_check(environ):
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=PROJECT_DIR,
        env=environ,
        capture_output=True,
        text=True,
        check=False,
    )


def test_sample_production_environment_passes_the_deploy_checks():
    result = run_deploy_check(sample_environment())
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_production_refuses_the_stripe_emulator():
    result = run_deploy_check(sample_environment(STRIPE_EMULATOR="1"))
    assert result.returncode != 0
    assert "web.E001" in result.stderr
