"""Fixtures of the teams tests."""

import pytest

from apps.teams.models import Membership
from apps.teams.tests.factories import MembershipFactory, TeamFactory


@pytest.fixture
def team(db):
    """A team with one admin (see `team_admin`)."""
    team = TeamFactory()
    MembershipFactory(team=team, role=Membership.Role.ADMIN)
    return team


@pytest.fixture
def team_admin(team):
    return team.memberships.get(role=Membership.Role.ADMIN).user


@pytest.fixture
def team_member(team):
    """A member of `team` who is not an admin."""
    return MembershipFactory(team=team, role=Membership.Role.MEMBER).user
