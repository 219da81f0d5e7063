import pytest
from django.urls import reverse

from apps.teams.membership import LastAdminError, change_role, remove_member
from apps.teams.models import Membership
from apps.teams.tests.factories import MembershipFactory

pytestmark = pytest.mark.django_db


def admin_membership(team):
    return team.memberships.get(role=Membership.Role.ADMIN)


def test_admin_renames_the_team(client, team, team_admin):
    client.force_login(team_admin)
    url = reverse("teams:settings", kwargs={"team_slug": team.slug})
    response = client.post(url, {"name": "Renamed"})
    assert response.status_code == 302
    team.refresh_from_db()
    assert team.name == "Renamed"


def test_settings_page_lists_members(client, team, team_admin, team_member):
    client.force_login(team_admin)
    response = client.get(reverse("teams:settings", kwargs={"team_slug": team.slug}))
    assert team_member.email.encode() in response.content


def test_admin_promotes_a_member(client, team, team_admin, team_member):
    membership = team.memberships.get(user=team_member)
    client.force_login(team_admin)
    response = client.post(
        reverse(
            "teams:change_role",
            kwargs={"team_slug": team.slug, "membership_id": membership.pk},
        ),
        {"role": "admin"},
        follow=True,
    )
    membership.refresh_from_db()
    assert membership.role == "admin"
    assert f"{team_member} is now an admin." in response.content.decode()


@pytest.mark.parametrize(
    ("role", "words"), [("admin", "an admin"), ("member", "a member")]
)
def test_the_dashboard_names_the_role_in_plain_english(
    client, team, team_admin, team_member, role, words
):
    client.force_login(team_admin if role == "admin" else team_member)
    response = client.get(reverse("teams:dashboard", kwargs={"team_slug": team.slug}))
    page = " ".join(response.content.decode().split())
    assert f"You are {words} of this team." in page


def test_admin_removes_a_member(client, team, team_admin, team_member):
    membership = team.memberships.get(user=team_member)
    client.force_login(team_admin)
    client.post(
        reverse(
            "teams:remove_member",
            kwargs={"team_slug": team.slug, "membership_id": membership.pk},
        )
    )
    assert not team.memberships.filter(user=team_member).exists()


def test_last_admin_cannot_be_demoted(team):
    with pytest.raises(LastAdminError):
        change_role(membership=admin_membership(team), role="member")
    assert admin_membership(team)


def test_last_admin_cannot_be_removed(team):
    with pytest.raises(LastAdminError):
        remove_member(membership=admin_membership(team))
    assert admin_membership(team)


def test_an_admin_can_step_down_when_another_admin_remains(team):
    MembershipFactory(team=team, role=Membership.Role.ADMIN)
    first = team.memberships.filter(role="admin").first()
    change_role(membership=first, role="member")
    assert team.memberships.filter(role="admin").count() == 1


def test_removing_the_last_admin_over_http_shows_an_error(client, team, team_admin):
    client.force_login(team_admin)
    response = client.post(
        reverse(
            "teams:remove_member",
            kwargs={"team_slug": team.slug, "membership_id": admin_membership(team).pk},
        ),
        follow=True,
    )
    assert b"at least one admin" in response.content
    assert team.memberships.filter(user=team_admin).exists()
