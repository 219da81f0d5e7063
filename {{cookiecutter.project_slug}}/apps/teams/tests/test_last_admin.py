"""A team keeps at least one admin, however its admins step down or remove each other."""

import os
import subprocess
import sys

import pytest

from apps.teams.membership import LastAdminError, change_role, remove_member
from apps.teams.models import Membership
from apps.teams.tests.factories import MembershipFactory, TeamFactory
from tests.postgres import PostgresServer
from tests.processes import PROJECT_DIR


def test_admins_acting_on_each_other_at_once_on_postgresql_leave_an_admin():
    server = PostgresServer().start()
    try:
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "pytest",
                "-q",
                "-p",
                "no:cacheprovider",
                "apps/teams/tests/last_admin_race.py",
            ],
            cwd=PROJECT_DIR,
            env={**os.environ, "DATABASE_URL": server.url()},
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
    finally:
        server.stop()
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert "2 passed" in result.stdout


@pytest.mark.django_db
def test_the_rule_reads_the_current_role_not_the_callers_copy():
    team = TeamFactory()
    first = MembershipFactory(team=team, role=Membership.Role.ADMIN)
    second = MembershipFactory(team=team, role=Membership.Role.ADMIN)
    stale = Membership.objects.get(pk=first.pk)
    stale.role = Membership.Role.MEMBER  # as read before someone promoted it
    change_role(membership=second, role=Membership.Role.MEMBER)

    with pytest.raises(LastAdminError):
        remove_member(membership=stale)

    assert team.memberships.filter(pk=first.pk, role="admin").exists()
