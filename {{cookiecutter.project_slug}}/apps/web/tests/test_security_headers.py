"""Every response carries the Content-Security-Policy of the setting."""

import re
from pathlib import Path

import pytest

from apps.web.security import policy_header

pytestmark = pytest.mark.django_db

PROJECT_DIR = Path(__file__).resolve().parents[3]


def test_a_page_and_a_not_found_page_carry_the_policy(client, settings):
    expected = policy_header(settings.CONTENT_SECURITY_POLICY)

    for path in ("/", "/no-such-page/"):
        assert client.get(path)["Content-Security-Policy"] == expected


def test_the_policy_follows_the_setting(client, settings):
    settings.CONTENT_SECURITY_POLICY = {
        "default-src": ["'self'"],
        "img-src": ["'self'", "https://images.example.com"],
    }

    response = client.get("/")

    assert response["Content-Security-Policy"] == (
        "default-src 'self'; img-src 'self' https://images.example.com"
    )


def test_no_page_template_has_inline_script_or_style():
    """The policy allows no inline code: scripts and styles live in static files."""
    inline = re.compile(r"<script(?![^>]*\bsrc=)|<style|\sstyle=|\son[a-z]+=")
    templates = [
        path
        for folder in (PROJECT_DIR / "templates", *PROJECT_DIR.glob("apps/*/templates"))
        for path in folder.rglob("*.html")
        # E-mails are read in mail clients, where the policy does not apply.
        if "email" not in path.parts
    ]
    assert templates
    offenders = [str(p) for p in templates if inline.search(p.read_text())]
    assert offenders == []
