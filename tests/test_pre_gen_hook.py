"""hooks/pre_gen_project.py: a bad answer stops the bake with one line and writes nothing."""

from pathlib import Path

import pytest

REFUSALS = [
    ({"project_name": ""}, "project_name is empty"),
    ({"project_name": "   "}, "project_name is empty"),
    (
        {"project_slug": "Acme"},
        "project_slug 'Acme' is not a lowercase Python identifier",
    ),
    (
        {"project_slug": "acme-saas"},
        "project_slug 'acme-saas' is not a lowercase Python identifier",
    ),
    (
        {"project_slug": "1acme"},
        "project_slug '1acme' is not a lowercase Python identifier",
    ),
    (
        {"project_slug": "café"},
        "project_slug 'café' is not a lowercase Python identifier",
    ),
    ({"project_slug": "class"}, "project_slug 'class' is a Python keyword"),
    ({"project_slug": "import"}, "project_slug 'import' is a Python keyword"),
    ({"project_slug": "django"}, "project_slug 'django' shadows the 'django' module"),
    ({"project_slug": "celery"}, "project_slug 'celery' shadows the 'celery' module"),
    ({"project_slug": "config"}, "project_slug 'config' shadows the 'config' module"),
    ({"project_slug": "apps"}, "project_slug 'apps' shadows the 'apps' module"),
    ({"project_slug": "test"}, "project_slug 'test' shadows the 'test' module"),
    (
        {"project_slug": "stripe_emulator"},
        "project_slug 'stripe_emulator' shadows the 'stripe_emulator' module",
    ),
    (
        {"project_slug": "djstripe"},
        "project_slug 'djstripe' shadows the 'djstripe' module",
    ),
    ({"project_slug": "json"}, "project_slug 'json' shadows the 'json' module"),
    ({"project_slug": "email"}, "project_slug 'email' shadows the 'email' module"),
    ({"email": "jane"}, "email 'jane' is not an e-mail address"),
    ({"email": "jane@"}, "email 'jane@' is not an e-mail address"),
    ({"email": "@example.com"}, "email '@example.com' is not an e-mail address"),
    ({"email": "jane@example"}, "email 'jane@example' is not an e-mail address"),
    (
        {"email": "jane doe@example.com"},
        "email 'jane doe@example.com' is not an e-mail address",
    ),
    (
        {"email": "jane@@example.com"},
        "email 'jane@@example.com' is not an e-mail address",
    ),
    (
        {"domain_name": "https://example.com"},
        "domain_name 'https://example.com' is not a domain name",
    ),
    (
        {"domain_name": "example.com/app"},
        "domain_name 'example.com/app' is not a domain name",
    ),
    (
        {"domain_name": "example.com:8000"},
        "domain_name 'example.com:8000' is not a domain name",
    ),
    ({"domain_name": "localhost"}, "domain_name 'localhost' is not a domain name"),
    ({"domain_name": "-acme.com"}, "domain_name '-acme.com' is not a domain name"),
    ({"domain_name": "acme..com"}, "domain_name 'acme..com' is not a domain name"),
    (
        {"domain_name": "exa mple.com"},
        "domain_name 'exa mple.com' is not a domain name",
    ),
    (
        {"timezone": "Mars/Olympus"},
        "timezone 'Mars/Olympus' is not an IANA time zone name",
    ),
    (
        {"timezone": "europe/paris"},
        "timezone 'europe/paris' is not an IANA time zone name",
    ),
    ({"timezone": "UTC+2"}, "timezone 'UTC+2' is not an IANA time zone name"),
    (
        {"timezone": "/etc/passwd"},
        "timezone '/etc/passwd' is not an IANA time zone name",
    ),
]


def written_files(root):
    """Every file under root: a refused bake must leave none."""
    return [path for path in Path(root).rglob("*") if not path.is_dir()]


@pytest.mark.parametrize(
    ("answers", "message"), REFUSALS, ids=[repr(answers) for answers, _ in REFUSALS]
)
def test_bad_answer_is_refused_with_one_line_and_nothing_written(
    cookies, tmpdir, capfd, answers, message
):
    result = cookies.bake(extra_context=answers)

    assert result.exit_code != 0
    assert result.exception is not None
    hook_lines = [
        line
        for line in capfd.readouterr().err.splitlines()
        if line.startswith("ERROR: ")
    ]
    assert len(hook_lines) == 1, hook_lines
    assert hook_lines[0].startswith(f"ERROR: {message}")
    assert written_files(tmpdir / "cookies") == []


@pytest.mark.parametrize(
    "answers",
    [
        {"project_slug": "acme_saas_2"},
        {"email": "jane.o'neil+billing@mail.example.co.uk"},
        {"domain_name": "app.xn--bcher-kva.example"},
        {"domain_name": "Example.COM"},
        {"timezone": "Europe/Paris"},
        {"timezone": "America/Argentina/Buenos_Aires"},
    ],
    ids=repr,
)
def test_good_answer_is_accepted(cookies, answers):
    result = cookies.bake(extra_context=answers)

    assert result.exception is None, result.exception
    assert result.project_path.is_dir()
