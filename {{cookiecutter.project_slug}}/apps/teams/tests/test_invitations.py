import html
import re
from urllib.parse import parse_qs, urlsplit

import pytest
from django.core import mail
from django.urls import reverse

from apps.teams.models import Invitation, Membership
from apps.teams.tests.factories import InvitationFactory
from apps.users.tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def accept_url(invitation):
    return reverse("teams:accept_invitation", kwargs={"token": invitation.token})


def test_admin_invites_by_email_and_the_mail_holds_the_link(client, team, team_admin):
    client.force_login(team_admin)
    response = client.post(
        reverse("teams:invite", kwargs={"team_slug": team.slug}),
        {"email": "New.Person@Example.com", "role": "member"},
    )
    assert response.status_code == 302
    invitation = Invitation.objects.get(team=team)
    assert invitation.email == "new.person@example.com"
    assert len(mail.outbox) == 1
    assert accept_url(invitation) in mail.outbox[0].body


def test_inviting_an_existing_member_is_a_form_error(client, team, team_admin):
    client.force_login(team_admin)
    response = client.post(
        reverse("teams:invite", kwargs={"team_slug": team.slug}),
        {"email": team_admin.email, "role": "member"},
    )
    assert response.status_code == 400
    assert not Invitation.objects.exists()


def test_invitee_accepts_and_joins_with_the_invited_role(client, team):
    invitation = InvitationFactory(team=team, role=Membership.Role.ADMIN)
    invitee = UserFactory(email=invitation.email)
    client.force_login(invitee)
    response = client.post(accept_url(invitation))
    assert response.status_code == 302
    assert Membership.objects.get(team=team, user=invitee).role == "admin"
    invitation.refresh_from_db()
    assert invitation.accepted_by == invitee


def test_accepting_is_refused_for_a_different_email(client, team):
    invitation = InvitationFactory(team=team)
    client.force_login(UserFactory(email="someone.else@example.com"))
    response = client.post(accept_url(invitation))
    assert response.status_code == 403
    assert b"someone.else@example.com" in response.content
    assert not Membership.objects.filter(user__email="someone.else@example.com")


def test_accepting_is_refused_when_expired(client, team):
    invitation = InvitationFactory(team=team, expired=True)
    client.force_login(UserFactory(email=invitation.email))
    response = client.post(accept_url(invitation))
    assert response.status_code == 403
    assert b"expired" in response.content
    assert team.memberships.count() == 1


def test_accepting_is_refused_when_already_used(client, team):
    invitation = InvitationFactory(team=team)
    invitee = UserFactory(email=invitation.email)
    client.force_login(invitee)
    client.post(accept_url(invitation))
    response = client.post(accept_url(invitation))
    assert response.status_code == 403
    assert b"already been used" in response.content
    assert team.memberships.filter(user=invitee).count() == 1


def test_anonymous_visitor_is_offered_sign_up_and_log_in(client, team):
    invitation = InvitationFactory(team=team)
    response = client.get(accept_url(invitation))
    assert response.status_code == 200
    assert f"?next={accept_url(invitation)}".encode() in response.content


def test_new_invitee_with_mandatory_verification_returns_to_the_invitation(
    client, team, settings
):
    # As in production: the sign-up waits for the e-mail link, then comes back here.
    settings.ACCOUNT_EMAIL_VERIFICATION = "mandatory"
    invitation = InvitationFactory(team=team)
    signup = f"{reverse('account_signup')}?next={accept_url(invitation)}"
    response = client.post(
        signup,
        {
            "email": invitation.email,
            "password1": "a-Long-passphrase-9",
            "password2": "a-Long-passphrase-9",
            "next": accept_url(invitation),
        },
    )
    assert response["Location"] == reverse("account_email_verification_sent")
    confirm = re.search(r"/accounts/confirm-email/\S+/", mail.outbox[-1].body)

    response = client.post(confirm.group(0))

    assert response["Location"] == accept_url(invitation)
    client.post(accept_url(invitation))
    assert team.memberships.filter(user__email=invitation.email).exists()


def sign_up_link(client, invitation) -> str:
    """The invitation page's Sign up link, as a visitor sees it."""
    page = client.get(accept_url(invitation)).content.decode()
    [link] = re.findall(r'href="(/accounts/signup/\?next=[^"]*)"', page)
    return html.unescape(link)


def sign_up(client, link, email):
    return client.post(
        link,
        {
            "email": email,
            "password1": "a-Long-passphrase-9",
            "password2": "a-Long-passphrase-9",
            "next": parse_qs(urlsplit(link).query)["next"][0],
        },
    )


def test_the_sign_up_form_opens_with_the_invited_address(client, team):
    invitation = InvitationFactory(team=team)
    page = client.get(sign_up_link(client, invitation)).content.decode()
    assert re.search(rf'name="email"[^>]*value="{re.escape(invitation.email)}"', page)


def confirm_address(client):
    """Follow the newest confirmation link in the outbox."""
    link = re.search(r"/accounts/confirm-email/\S+/", mail.outbox[-1].body)
    client.post(link.group(0))


def test_an_invitee_who_signs_up_gets_no_team_of_their_own(client, team):
    invitation = InvitationFactory(team=team)
    response = sign_up(client, sign_up_link(client, invitation), invitation.email)
    assert response["Location"] == accept_url(invitation)
    assert not Membership.objects.filter(user__email=invitation.email).exists()

    confirm_address(client)
    client.post(accept_url(invitation))

    [membership] = Membership.objects.filter(user__email=invitation.email)
    assert membership.team == team


def test_signing_up_with_another_address_still_gets_a_team(client, team):
    invitation = InvitationFactory(team=team)
    sign_up(client, sign_up_link(client, invitation), "someone.else@example.com")
    [membership] = Membership.objects.filter(user__email="someone.else@example.com")
    assert membership.team != team
    assert membership.role == Membership.Role.ADMIN


def test_signing_up_through_a_used_invitation_still_gets_a_team(client, team):
    invitation = InvitationFactory(team=team, used=True)
    sign_up(client, sign_up_link(client, invitation), invitation.email)
    [membership] = Membership.objects.filter(user__email=invitation.email)
    assert membership.team != team


@pytest.mark.parametrize(
    ("role", "words"), [("admin", "an admin"), ("member", "a member")]
)
def test_the_invitation_names_the_role_in_plain_english(client, team, role, words):
    invitation = InvitationFactory(team=team, role=role)
    client.force_login(UserFactory(email=invitation.email))
    page = " ".join(client.get(accept_url(invitation)).content.decode().split())
    assert f"to join {team.name} as {words}." in page


def test_unknown_token_is_404(client):
    assert client.get("/invitations/not-a-token/").status_code == 404
