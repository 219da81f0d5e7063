"""Who may open each team page: members see member pages, only admins admin pages."""

import pytest
from django.urls import reverse

from apps.teams.tests.factories import InvitationFactory, MembershipFactory

pytestmark = pytest.mark.django_db

MEMBER_PAGES = ["teams:dashboard"]
ADMIN_PAGES = ["teams:settings"]
ADMIN_ACTIONS = [
    "teams:invite",
    "teams:change_role",
    "teams:remove_member",
    "teams:cancel_invitation",
]


def team_url(name, team):
    """The URL of a team page, with ids of real objects where the page needs them."""
    kwargs = {"team_slug": team.slug}
    if name in ("teams:change_role", "teams:remove_member"):
        kwargs["membership_id"] = team.memberships.first().pk
    if name == "teams:cancel_invitation":
        kwargs["invitation_id"] = InvitationFactory(team=team).pk
    return reverse(name, kwargs=kwargs)


@pytest.mark.parametrize("name", MEMBER_PAGES + ADMIN_PAGES + ADMIN_ACTIONS)
def test_anonymous_visitors_are_sent_to_log_in(client, team, name):
    response = client.post(team_url(name, team))
    assert response.status_code == 302
    assert reverse("account_login") in response["Location"]


@pytest.mark.parametrize("name", MEMBER_PAGES + ADMIN_PAGES + ADMIN_ACTIONS)
def test_non_members_get_404(client, team, user, name):
    client.force_login(user)
    assert client.post(team_url(name, team)).status_code == 404


@pytest.mark.parametrize("name", MEMBER_PAGES)
def test_members_see_member_pages(client, team, team_member, name):
    client.force_login(team_member)
    assert client.get(team_url(name, team)).status_code == 200


@pytest.mark.parametrize("name", ADMIN_PAGES + ADMIN_ACTIONS)
def test_members_who_are_not_admins_get_403_on_admin_pages(
    client, team, team_member, name
):
    client.force_login(team_member)
    assert client.post(team_url(name, team)).status_code == 403


@pytest.mark.parametrize("name", MEMBER_PAGES + ADMIN_PAGES)
def test_admins_see_every_page(client, team, team_admin, name):
    client.force_login(team_admin)
    assert client.get(team_url(name, team)).status_code == 200


def test_team_home_redirects_to_the_users_team(client, team, team_member):
    client.force_login(team_member)
    response = client.get(reverse("teams:home"))
    assert response["Location"] == reverse(
        "teams:dashboard", kwargs={"team_slug": team.slug}
    )


def test_team_switcher_lists_every_team_of_the_user(client, team, team_member):
    other = MembershipFactory(user=team_member).team
    client.force_login(team_member)
    response = client.get(reverse("teams:dashboard", kwargs={"team_slug": team.slug}))
    assert reverse("teams:dashboard", kwargs={"team_slug": other.slug}) in (
        response.content.decode()
    )
