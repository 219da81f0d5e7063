"""hooks/post_gen_project.py: each option set keeps what it uses and nothing else."""

import re
import sys

import pytest

from conftest import OPTION_SETS, option_set_params, run

# "teams", `team_slug`, `request.team`, the Team model, and the build markers.
TEAM_CODE = re.compile(r"(?i:teams|team_|\.team\b|team builds)|\bTeam\b")
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


@pytest.mark.parametrize("bake", builds("user"), indirect=True)
def test_user_build_has_no_teams_code(bake):
    # Test modules are left out: the ones that prove teams are absent must name them.
    mentions = [
        f"{path.relative_to(bake.path)}:{number}: {line.strip()}"
        for pattern in ("*.py", "*.html", "*.txt")
        for path in bake.path.rglob(pattern)
        if not path.name.startswith("test_")
        for number, line in enumerate(
            path.read_text(encoding="utf-8").splitlines(), start=1
        )
        if TEAM_CODE.search(line)
    ]

    assert not (bake.path / "apps" / "teams").exists()
    assert not mentions, "\n".join(mentions)


@pytest.mark.parametrize("bake", builds("team"), indirect=True)
def test_team_build_has_the_teams_app(bake):
    models = (bake.path / "apps" / "teams" / "models.py").read_text(encoding="utf-8")
    base_settings = (bake.path / "config" / "settings" / "base.py").read_text(
        encoding="utf-8"
    )

    for model in ("class Team(", "class Membership(", "class Invitation("):
        assert model in models
    assert '"apps.teams"' in base_settings
    assert 'DJSTRIPE_SUBSCRIBER_MODEL = "teams.Team"' in base_settings


@pytest.mark.parametrize("bake", builds("user"), indirect=True)
def test_user_build_bills_the_user(bake):
    base_settings = (bake.path / "config" / "settings" / "base.py").read_text(
        encoding="utf-8"
    )

    assert 'DJSTRIPE_SUBSCRIBER_MODEL = "users.User"' in base_settings


def test_each_bake_gets_its_own_random_secret_key(cookies):
    keys = []
    for _ in range(2):
        result = cookies.bake(extra_context=OPTION_SETS["user-flat"])
        assert result.exception is None, result.exception
        keys.append(read_env_file(result.project_path / ".env")["DJANGO_SECRET_KEY"])

    assert keys[0] != keys[1]
    assert all(len(key) >= 50 and len(set(key)) >= 5 for key in keys)


@pytest.mark.parametrize("bake", option_set_params(), indirect=True)
def test_beat_schedules_the_seat_sync_only_in_per_seat_builds(bake):
    printed = run(
        [sys.executable, "manage.py", "shell", "-c", PRINT_BEAT_TASKS],
        cwd=bake.path,
    )
    scheduled = printed.stdout.split()

    per_seat = bake.context["per_seat_billing"] == "y"
    assert ("apps.subscriptions.tasks.sync_subscriptions_task" in scheduled) is per_seat


@pytest.mark.parametrize("bake", option_set_params(), indirect=True)
def test_build_block_markers_are_gone(bake):
    # Each build keeps its own marked lines and drops the other's; none keeps a marker.
    leftovers = [
        f"{path.relative_to(bake.path)}:{number}"
        for path in bake.path.rglob("*")
        if path.suffix in {".py", ".html", ".txt", ".md"}
        for number, line in enumerate(
            path.read_text(encoding="utf-8").splitlines(), start=1
        )
        if re.search(r"(>>>|<<<) (team|user) builds", line)
    ]

    assert not leftovers, leftovers


@pytest.mark.parametrize("bake", builds("team"), indirect=True)
def test_team_build_keeps_the_marked_team_lines(bake):
    base = (bake.path / "templates" / "base.html").read_text(encoding="utf-8")
    access = (bake.path / "apps" / "subscriptions" / "access.py").read_text(
        encoding="utf-8"
    )

    assert 'include "teams/includes/team_switcher.html"' in base
    assert "from apps.teams.decorators import" in access
    assert "request.user" not in access, "a user build's line was kept"


@pytest.mark.parametrize("bake", builds("user"), indirect=True)
def test_user_build_keeps_the_marked_user_lines(bake):
    access = (bake.path / "apps" / "subscriptions" / "access.py").read_text(
        encoding="utf-8"
    )
    urls = (bake.path / "apps" / "subscriptions" / "urls.py").read_text(
        encoding="utf-8"
    )

    assert "request.subscriber = request.user" in access
    assert 'prefix = ""' in urls
