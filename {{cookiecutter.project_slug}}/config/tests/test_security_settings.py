"""HTTPS and browser-security headers: HSTS as Django's checklist advises, and a
Content-Security-Policy on every response."""

import json
import os
import runpy
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

PROJECT_DIR = Path(__file__).resolve().parents[2]
YEAR = 31536000

# A request through the whole middleware stack, on the settings of the environment:
# a GET of the webhook URL, answered without a template, static files or database.
GET_HEADERS = """
import json
import django
django.setup()
from django.test import Client
path = "/stripe/webhook/00000000-0000-4000-8000-000000000000/"
response = Client().get(path, secure=True, headers={"host": "example.com"})
print(json.dumps({"status": response.status_code, **dict(response.headers)}))
"""


def run_python(script: str, environ: dict, *args: str) -> str:
    """The output of `script`, run in the project by a fresh Python with `environ`."""
    result = subprocess.run(
        [sys.executable, "-c", script, *args],
        cwd=PROJECT_DIR,
        env=environ,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def load_production(monkeypatch, **environ):
    monkeypatch.setenv("DATABASE_URL", "sqlite:///unused.sqlite3")
    monkeypatch.setenv("REDIS_URL", "redis://localhost:6379/0")
    monkeypatch.setenv("DJANGO_ADMIN_URL", "control-room/")
    monkeypatch.setenv("DJANGO_SECRET_KEY", secrets.token_urlsafe(50))
    for name in (
        "DJANGO_DEBUG",
        "STRIPE_EMULATOR",
        "DJANGO_SECURE_HSTS_SECONDS",
        "DJANGO_SECURE_HSTS_PRELOAD",
        "DJANGO_SECURE_HSTS_INCLUDE_SUBDOMAINS",
    ):
        monkeypatch.delenv(name, raising=False)
    for name, value in environ.items():
        monkeypatch.setenv(name, value)
    return runpy.run_module("config.settings.production")


def test_hsts_lasts_a_year_without_preload_by_default(monkeypatch):
    settings = load_production(monkeypatch)
    assert settings["SECURE_HSTS_SECONDS"] == YEAR
    assert settings["SECURE_HSTS_PRELOAD"] is False
    assert settings["SECURE_HSTS_INCLUDE_SUBDOMAINS"] is False


def test_preload_asks_for_subdomains_too(monkeypatch):
    settings = load_production(monkeypatch, DJANGO_SECURE_HSTS_PRELOAD="True")
    assert settings["SECURE_HSTS_PRELOAD"] is True
    assert settings["SECURE_HSTS_INCLUDE_SUBDOMAINS"] is True


def test_preload_with_less_than_a_year_refuses_to_start(monkeypatch):
    with pytest.raises(ImproperlyConfigured, match="at least 31536000"):
        load_production(
            monkeypatch,
            DJANGO_SECURE_HSTS_PRELOAD="True",
            DJANGO_SECURE_HSTS_SECONDS="60",
        )


def production_response_headers(tmp_path) -> dict:
    """The headers of a response served on the sample production environment."""
    environ = {"PATH": os.environ["PATH"]}
    for line in (PROJECT_DIR / ".env.production.example").read_text().splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.partition("=")
            environ[name] = value
    environ.update(
        DJANGO_SECRET_KEY=secrets.token_urlsafe(50),
        DJANGO_ALLOWED_HOSTS="example.com",
        DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}",
    )
    return json.loads(run_python(GET_HEADERS, environ).splitlines()[-1])


def test_a_production_response_carries_the_security_headers(tmp_path):
    headers = production_response_headers(tmp_path)

    assert headers["status"] == 405
    assert headers["Strict-Transport-Security"] == f"max-age={YEAR}"
    policy = headers["Content-Security-Policy"]
    assert "default-src 'self'" in policy
    assert "script-src 'self'" in policy
    assert "frame-ancestors 'none'" in policy
    assert "form-action 'self' https://checkout.stripe.com" in policy
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "same-origin"
    assert headers["Cross-Origin-Opener-Policy"] == "same-origin"


def test_forms_may_lead_to_the_emulators_pages_while_developing(tmp_path):
    script = (
        "import django; django.setup(); from django.conf import settings; "
        "print(' '.join(settings.CONTENT_SECURITY_POLICY['form-action']))"
    )
    environ = {
        "PATH": os.environ["PATH"],
        "DJANGO_SETTINGS_MODULE": "config.settings.local",
        "DJANGO_ENV_FILE": str(tmp_path / ".env"),
        "CELERY_DATA_DIR": str(tmp_path / "celery"),
        "STRIPE_EMULATOR": "1",
        "STRIPE_EMULATOR_URL": "http://127.0.0.1:12999",
    }
    assert run_python(script, environ).split() == [
        "'self'",
        "https://checkout.stripe.com",
        "https://billing.stripe.com",
        "http://127.0.0.1:12999",
    ]
