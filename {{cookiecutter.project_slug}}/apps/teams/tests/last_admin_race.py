"""Two admins demote or remove each other at the same moment, round after round.

Run on PostgreSQL by test_last_admin.py, in a pytest of its own (the file name keeps
it out of the usual collection): each request on its own thread and connection, so
that both really overlap. SQLite would only queue them.
"""

import pytest
from django.db import connection
from django.test import Client
from django.urls import reverse

from apps.subscriptions.tests.concurrency import run_at_once
from apps.teams.models import Membership
from apps.teams.tests.factories import MembershipFactory, TeamFactory

ROUNDS = 20


def post_as(membership, name, target, data):
    """A call that posts to the team page `name` about `target` as `membership`'s user."""
    client = Client()
    client.force_login(membership.user)
    url = reverse(
        name, kwargs={"team_slug": membership.team.slug, "membership_id": target.pk}
    )
    return lambda: client.post(url, data)


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    ("name", "data"),
    [("teams:change_role", {"role": "member"}), ("teams:remove_member", {})],
)
def test_two_admins_acting_on_each_other_at_once_leave_an_admin(name, data):
    assert connection.vendor == "postgresql"
    for _ in range(ROUNDS):
        team = TeamFactory()
        first = MembershipFactory(team=team, role=Membership.Role.ADMIN)
        second = MembershipFactory(team=team, role=Membership.Role.ADMIN)
        errors = run_at_once(
            post_as(first, name, second, data), post_as(second, name, first, data)
        )
        assert errors == []
        assert team.memberships.filter(role=Membership.Role.ADMIN).count() == 1
