"""Invitations reach only the invited address, end with the membership they gave,
and cannot be used to mail anyone anything at any rate."""

import pytest
from allauth.account.models import EmailAddress
from django.contrib.messages import get_messages
from django.core import mail
from django.urls import reverse

from apps.teams.membership import add_member
from apps.teams.models import Invitation, Membership
from apps.teams.tests.factories import InvitationFactory, TeamFactory
from apps.users.tests.factories import UserFactory
from tests.processes import free_port

pytestmark = pytest.mark.django_db


def invite(client, team, email="new.person@example.com"):
    return client.post(
        reverse("teams:invite", kwargs={"team_slug": team.slug}),
        {"email": email, "role": "member"},
    )


def accept(client, invitation):
    return client.post(invitation.get_absolute_url())


@pytest.fixture
def admin_client(client, team_admin):
    client.force_login(team_admin)
    return client


def test_a_removed_member_cannot_rejoin_with_an_invitation_left_open(
    client, team, team_admin, team_member
):
    left_open = InvitationFactory(team=team, email=team_member.email)
    client.force_login(team_admin)
    membership = team.memberships.get(user=team_member)
    client.post(
        reverse(
            "teams:remove_member",
            kwargs={"team_slug": team.slug, "membership_id": membership.pk},
        )
    )

    client.force_login(team_member)
    response = accept(client, left_open)

    assert response.status_code == 403
    assert b"withdrawn" in response.content
    assert not team.memberships.filter(user=team_member).exists()


def test_inviting_an_address_again_replaces_its_open_invitation(admin_client, team):
    invite(admin_client, team)
    [first] = Invitation.objects.filter(team=team)
    invite(admin_client, team, email="New.Person@example.com")

    [open_one] = team.invitations.filter(revoked_at__isnull=True)
    assert open_one != first
    assert len(mail.outbox) == 2
    assert open_one.get_absolute_url() in mail.outbox[1].body
    invitee = UserFactory(email="new.person@example.com")
    admin_client.force_login(invitee)
    assert accept(admin_client, first).status_code == 403
    assert accept(admin_client, open_one).status_code == 302


def test_an_invitation_needs_the_invited_address_confirmed(client, team):
    invitation = InvitationFactory(team=team)
    invitee = UserFactory(email=invitation.email, verified_email=False)
    EmailAddress.objects.create(user=invitee, email=invitee.email, verified=False)
    client.force_login(invitee)

    response = accept(client, invitation)

    assert response.status_code == 403
    assert f"Confirm {invitation.email} first" in response.content.decode()
    assert not team.memberships.filter(user=invitee).exists()


def test_another_account_is_told_to_sign_in_with_the_invited_address(client, team):
    invitation = InvitationFactory(team=team)
    client.force_login(UserFactory(email="someone.else@example.com"))

    page = client.get(invitation.get_absolute_url()).content.decode()

    assert f"sign up with {invitation.email} to accept it" in page
    assert reverse("account_logout") in page


def test_an_invitation_to_an_unconfirmed_second_address_is_refused(client, team):
    invitation = InvitationFactory(team=team, email="second@example.com")
    user = UserFactory()
    EmailAddress.objects.create(user=user, email="second@example.com", verified=False)
    client.force_login(user)

    assert accept(client, invitation).status_code == 403
    assert not team.memberships.filter(user=user).exists()


def test_a_team_may_send_only_so_many_invitations_an_hour(admin_client, team, settings):
    settings.TEAMS_INVITATIONS_PER_HOUR_PER_TEAM = 3
    for n in range(3):
        assert invite(admin_client, team, f"person{n}@example.com").status_code == 302

    response = invite(admin_client, team, "one.more@example.com")

    assert response.status_code == 429
    assert "as many invitations as it may in an hour" in response.content.decode()
    assert len(mail.outbox) == 3
    assert not Invitation.objects.filter(email="one.more@example.com").exists()


def test_resending_counts_towards_the_limit(admin_client, team, settings):
    settings.TEAMS_INVITATIONS_PER_HOUR_PER_TEAM = 2
    invite(admin_client, team)
    invite(admin_client, team)

    assert invite(admin_client, team).status_code == 429
    assert len(mail.outbox) == 2


def test_cancelled_invitations_count_towards_the_limit(admin_client, team, settings):
    settings.TEAMS_INVITATIONS_PER_HOUR_PER_TEAM = 1
    invite(admin_client, team)
    [invitation] = team.invitations.all()
    admin_client.post(
        reverse(
            "teams:cancel_invitation",
            kwargs={"team_slug": team.slug, "invitation_id": invitation.pk},
        )
    )

    assert invite(admin_client, team).status_code == 429
    assert len(mail.outbox) == 1


def test_a_person_may_send_only_so_many_invitations_an_hour(
    admin_client, team, team_admin, settings
):
    settings.TEAMS_INVITATIONS_PER_HOUR_PER_USER = 2
    other_team = TeamFactory()
    add_member(team=other_team, user=team_admin, role=Membership.Role.ADMIN)
    invite(admin_client, team, "a@example.com")
    invite(admin_client, other_team, "b@example.com")

    response = invite(admin_client, other_team, "c@example.com")

    assert response.status_code == 429
    assert "You have sent as many invitations" in response.content.decode()
    assert len(mail.outbox) == 2


def test_only_admins_can_invite(client, team, team_member):
    client.force_login(team_member)

    assert invite(client, team).status_code == 403
    assert not Invitation.objects.exists()
    assert mail.outbox == []


def test_the_subject_is_fixed_and_the_team_name_one_line_in_the_body(
    admin_client, team, settings
):
    settings.SITE_NAME = "Rocket Ledger"
    team.name = "Free money\nBcc: everyone@example.com\n" + "x" * 60
    team.save()

    assert invite(admin_client, team).status_code == 302

    [message] = mail.outbox
    assert message.subject == "You are invited to join a team on Rocket Ledger"
    assert '"Free money Bcc: everyone@example.com xxx' in message.body
    assert "\nBcc:" not in message.body


def test_an_invitation_with_the_mail_server_down_is_kept_and_says_so(
    admin_client, team, settings
):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", free_port()

    response = invite(admin_client, team)

    assert response.status_code == 302
    [message] = get_messages(response.wsgi_request)
    assert "could not be sent just now" in str(message)
    assert team.invitations.filter(email="new.person@example.com").exists()
