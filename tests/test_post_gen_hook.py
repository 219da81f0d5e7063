"""Each option set keeps what it uses and nothing else, by whole files.

A bake differs from another only by whole files: the post-generation hook deletes
what an answer does not need, and where both answers need a file at one path, the
template holds one file per answer whose name renders empty for the other answer
(cookiecutter skips a file whose name renders empty). Jinja conditionals inside files
are kept to the few that cannot be split: settings, pyproject.toml, README, Makefile
and Procfile.
"""

import re
import sys
from pathlib import Path

import pytest

from conftest import OPTION_SETS, REPO_ROOT, option_set_params, run

TEMPLATE_DIR = REPO_ROOT / "{{cookiecutter.project_slug}}"
# Files of the template that may hold `{% if cookiecutter... %}` blocks.
JINJA_CONDITIONALS_ALLOWED = {
    "config/settings/base.py",
    "config/settings/local.py",
    "pyproject.toml",
    "README.md",
    "Makefile",
    "Procfile",
}
JINJA_CONDITIONAL = re.compile(r"\{%-?\s*(if|elif|else)\b")
# "team", "teams", `team_slug`, `request.team`, the Team model, in any case.
TEAM_WORD = re.compile(r"(?i)team")
# Words about the template itself that a generated site should never say: the kit,
# its builds (option sets), their line markers. Letters only bound a word, so that
# `find_kit_item` or `KIT_EVENTS` count too.
TEMPLATE_WORDS = re.compile(
    r"(?i)(?<![a-z])(kit|builds)(?![a-z])"
    r"|\b(team|user|per-seat|flat)[ -]builds?\b|>>> |<<< "
)
PRINT_BEAT_TASKS = "from django.conf import settings; print(*(entry['task'] for entry in settings.CELERY_BEAT_SCHEDULE.values()))"


def builds(billing_subject):
    """Params for the option sets baked with this billing subject."""
    return option_set_params(
        lambda answers: answers["billing_subject"] == billing_subject
    )


def read_env_file(path):
    """The KEY=value pairs of a .env file."""
    pairs = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        key, sep, value = line.partition("=")
        if sep and not line.lstrip().startswith("#"):
            pairs[key.strip()] = value.strip().strip("'\"")
    return pairs


def text_lines(root: Path):
    """(relative path, line number, line) for every line of every text file."""
    for path in sorted(root.rglob("*")):
        if not path.is_file():
            continue
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue
        for number, line in enumerate(text.splitlines(), start=1):
            yield path.relative_to(root), number, line


@pytest.mark.parametrize("bake", builds("user"), indirect=True)
def test_user_bake_has_no_team_word_import_or_test(bake):
    # Every file, tests and the emulator included; paths too.
    mentions = [
        f"{path}:{number}: {line.strip()}"
        for path, number, line in text_lines(bake.path)
        if TEAM_WORD.search(line)
    ]
    mentions += [
        str(path.relative_to(bake.path))
        for path in bake.path.rglob("*")
        if TEAM_WORD.search(path.name)
    ]

    assert not (bake.path / "apps" / "teams").exists()
    assert not mentions, "\n".join(mentions)


@pytest.mark.parametrize("bake", option_set_params(), indirect=True)
def test_no_bake_talks_about_the_template(bake):
    said = [
        f"{path}:{number}: {line.strip()}"
        for path, number, line in text_lines(bake.path)
        if TEMPLATE_WORDS.search(line)
    ]

    assert not said, "\n".join(said)


@pytest.mark.parametrize("bake", builds("team"), indirect=True)
def test_team_bake_has_the_teams_app_and_no_user_billing(bake):
    models = (bake.path / "apps" / "teams" / "models.py").read_text(encoding="utf-8")
    base_settings = (bake.path / "config" / "settings" / "base.py").read_text(
        encoding="utf-8"
    )
    user_model = (bake.path / "apps" / "users" / "models.py").read_text()

    for model in ("class Team(", "class Membership(", "class Invitation("):
        assert model in models
    assert '"apps.teams"' in base_settings
    assert 'DJSTRIPE_SUBSCRIBER_MODEL = "teams.Team"' in base_settings
    assert 'SUBSCRIPTIONS_BILLING_ADAPTER = "apps.teams.billing"' in base_settings
    assert "SubscriptionModelBase" not in user_model
    assert not (bake.path / "apps" / "users" / "billing.py").exists()
    assert "a/<slug:team_slug>/" in (bake.path / "config" / "urls.py").read_text()


@pytest.mark.parametrize("bake", builds("user"), indirect=True)
def test_user_bake_bills_the_user(bake):
    base_settings = (bake.path / "config" / "settings" / "base.py").read_text(
        encoding="utf-8"
    )
    user_model = (bake.path / "apps" / "users" / "models.py").read_text()

    assert 'DJSTRIPE_SUBSCRIBER_MODEL = "users.User"' in base_settings
    assert 'SUBSCRIPTIONS_BILLING_ADAPTER = "apps.users.billing"' in base_settings
    assert "class User(SubscriptionModelBase, EmailUser)" in user_model


@pytest.mark.parametrize("bake", option_set_params(), indirect=True)
def test_the_hook_only_deletes(bake):
    # Every baked file comes from the template (by its rendered name), but .env.
    rendered = {
        re.sub(r"\{%.*?%\}", "", str(path.relative_to(TEMPLATE_DIR)))
        for path in TEMPLATE_DIR.rglob("*")
        if path.is_file()
    }
    assert bake.files - rendered == {".env"}


def test_jinja_conditionals_stay_in_the_few_files_that_cannot_be_split():
    found = {
        str(path)
        for path, _, line in text_lines(TEMPLATE_DIR)
        if JINJA_CONDITIONAL.search(line) and "cookiecutter" in line
    }

    assert found <= JINJA_CONDITIONALS_ALLOWED, sorted(
        found - JINJA_CONDITIONALS_ALLOWED
    )


def test_each_file_chosen_by_its_name_has_one_variant_per_answer():
    # `{% if cookiecutter.billing_subject == "team" %}urls.py{% endif %}` and its
    # "user" twin: every answer gets exactly one file at that path.
    variants = {}
    for path in TEMPLATE_DIR.rglob("*{%*"):
        match = re.fullmatch(
            r'\{% if cookiecutter\.(\w+) == "(\w+)" %\}(.+)\{% endif %\}', path.name
        )
        assert match, f"unexpected template syntax in a file name: {path}"
        option, answer, name = match.groups()
        variants.setdefault((path.parent, name, option), []).append(answer)
    choices = {"billing_subject": ["team", "user"], "per_seat_billing": ["y", "n"]}

    assert variants
    for (_, name, option), answers in variants.items():
        assert sorted(answers) == sorted(choices[option]), name


def test_each_bake_gets_its_own_random_secret_key(cookies):
    keys = []
    for _ in range(2):
        result = cookies.bake(extra_context=OPTION_SETS["user-flat"])
        assert result.exception is None, result.exception
        keys.append(read_env_file(result.project_path / ".env")["DJANGO_SECRET_KEY"])

    assert keys[0] != keys[1]
    assert all(len(key) >= 50 and len(set(key)) >= 5 for key in keys)


@pytest.mark.parametrize("bake", option_set_params(), indirect=True)
def test_beat_schedules_the_seat_sync_only_when_billing_per_seat(bake):
    printed = run(
        [sys.executable, "manage.py", "shell", "-c", PRINT_BEAT_TASKS],
        cwd=bake.path,
    )
    scheduled = printed.stdout.split()

    per_seat = bake.context["per_seat_billing"] == "y"
    assert ("apps.subscriptions.tasks.sync_subscriptions_task" in scheduled) is per_seat
