"""Refuse answers that would bake a broken site, with one line naming the field and the rule.

Cookiecutter runs this before writing any file; a non-zero exit makes it remove the
output directory it created, so a refused answer leaves nothing behind. Standard
library only: whoever runs cookiecutter may not have Django installed.
"""

import keyword
import re
import sys
import zoneinfo

# Rendered by cookiecutter; tojson gives a valid Python string literal for any answer.
ANSWERS = {
    "project_name": {{cookiecutter.project_name | tojson}},
    "project_slug": {{cookiecutter.project_slug | tojson}},
    "email": {{cookiecutter.email | tojson}},
    "domain_name": {{cookiecutter.domain_name | tojson}},
    "timezone": {{cookiecutter.timezone | tojson}},
}

# Top-level modules the generated site imports or runs next to; a project named after
# one of them would be imported in its place once the project's folder is on sys.path.
SITE_MODULES = frozenset(
    {
        "allauth",
        "amqp",
        "apps",
        "billiard",
        "celery",
        "config",
        "conftest",
        "django",
        "djlint",
        "djstripe",
        "environ",
        "factory",
        "fido2",
        "gunicorn",
        "honcho",
        "kombu",
        "manage",
        "playwright",
        "psycopg",
        "pytest",
        "pytest_django",
        "qrcode",
        "redis",
        "ruff",
        "site",
        "stripe",
        "stripe_emulator",
        "test",
        "tests",
        "typing",
        "vine",
        "whitenoise",
    }
)

SLUG_PATTERN = re.compile(r"[a-z_][a-z0-9_]*")
# Labels of letters, digits and inner hyphens; the last one (the TLD) is not numeric.
DOMAIN_PATTERN = re.compile(
    r"(?:(?!-)[a-z0-9-]{1,63}(?<!-)\.)+(?:[a-z]{2,63}|xn--[a-z0-9-]{1,59})", re.I
)
# RFC 5322 dot-atom local part; the part after "@" must pass the domain rule.
EMAIL_LOCAL_PATTERN = re.compile(
    r"[a-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[a-z0-9!#$%&'*+/=?^_`{|}~-]+)*", re.I
)


def check_project_name(name):
    """Return why the name cannot title the site, or None."""
    if not name.strip():
        return "project_name is empty; give the site a name (e.g. Acme SaaS)"
    return None


def check_project_slug(slug):
    """Return why the slug cannot name the project's package, or None."""
    if not SLUG_PATTERN.fullmatch(slug):
        return (
            f"project_slug {slug!r} is not a lowercase Python identifier "
            "(a-z, 0-9 and _, not starting with a digit)"
        )
    if keyword.iskeyword(slug):
        return f"project_slug {slug!r} is a Python keyword; choose another name"
    if slug in SITE_MODULES or slug in sys.stdlib_module_names:
        return f"project_slug {slug!r} shadows the {slug!r} module that the site imports; choose another name"
    return None


def is_domain_name(value):
    """Say whether value is a fully qualified host name such as example.com."""
    return len(value) <= 253 and DOMAIN_PATTERN.fullmatch(value) is not None


def check_email(email):
    """Return why the e-mail address is not one, or None."""
    local, at, domain = email.rpartition("@")
    if not (
        at
        and len(local) <= 64
        and EMAIL_LOCAL_PATTERN.fullmatch(local)
        and is_domain_name(domain)
    ):
        return f"email {email!r} is not an e-mail address (name@domain.tld)"
    return None


def check_domain_name(domain):
    """Return why the answer is not a bare domain name, or None."""
    if not is_domain_name(domain):
        return (
            f"domain_name {domain!r} is not a domain name "
            "(dot-separated labels of letters, digits and hyphens, e.g. example.com; no scheme, port or path)"
        )
    return None


def check_timezone(name):
    """Return why the time zone is not an IANA zone name, or None."""
    zones = zoneinfo.available_timezones()
    # With no time zone database at all, only UTC can be vouched for.
    if name in zones or (not zones and name == "UTC"):
        return None
    return f"timezone {name!r} is not an IANA time zone name (e.g. UTC, Europe/Paris, America/New_York)"


CHECKS = {
    "project_name": check_project_name,
    "project_slug": check_project_slug,
    "email": check_email,
    "domain_name": check_domain_name,
    "timezone": check_timezone,
}


def main():
    """Check each answer in order and stop at the first refusal."""
    for field, check in CHECKS.items():
        problem = check(ANSWERS[field])
        if problem:
            print(f"ERROR: {problem}", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
