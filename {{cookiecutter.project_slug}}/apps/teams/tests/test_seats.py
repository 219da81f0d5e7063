"""A team's seats are its members, and every change marks it for the seat sync."""

import pytest

from apps.teams.invitations import accept_invitation
from apps.teams.membership import add_member, change_role, remove_member
from apps.teams.models import Membership
from apps.teams.tests.factories import InvitationFactory, MembershipFactory
from apps.users.tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def synced_team(team):
    """`team`, recorded as in step with Stripe."""
    team.last_synced_with_stripe = team.billing_details_last_changed
    team.save()
    return team


def has_changed(team) -> bool:
    team.refresh_from_db()
    return team.billing_details_last_changed > team.last_synced_with_stripe


def test_the_quantity_is_the_number_of_members(team):
    MembershipFactory.create_batch(2, team=team)

    assert team.get_quantity() == 3


def test_adding_a_member_marks_the_team(synced_team):
    add_member(team=synced_team, user=UserFactory())

    assert has_changed(synced_team)


def test_removing_a_member_marks_the_team(team_member, synced_team):
    remove_member(membership=synced_team.memberships.get(user=team_member))

    assert has_changed(synced_team)


def test_an_accepted_invitation_marks_the_team(synced_team):
    invitee = UserFactory()
    invitation = InvitationFactory(team=synced_team, email=invitee.email)

    accept_invitation(invitation=invitation, user=invitee)

    assert has_changed(synced_team)


def test_a_member_who_deletes_their_account_marks_the_team(team_member, synced_team):
    team_member.delete()

    assert has_changed(synced_team)


def test_changing_a_role_marks_nothing(team_member, synced_team):
    change_role(
        membership=synced_team.memberships.get(user=team_member),
        role=Membership.Role.ADMIN,
    )

    assert not has_changed(synced_team)
