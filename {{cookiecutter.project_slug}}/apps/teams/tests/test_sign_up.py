import pytest
from django.urls import reverse

from apps.teams.membership import create_team
from apps.teams.models import Membership
from apps.users.models import User
from apps.users.tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_signing_up_creates_the_users_own_team(client):
    client.post(
        reverse("account_signup"),
        {
            "email": "founder@example.com",
            "password1": "a-long-unusual-passphrase",
            "password2": "a-long-unusual-passphrase",
        },
    )
    user = User.objects.get(email="founder@example.com")
    membership = Membership.objects.get(user=user)
    assert membership.role == Membership.Role.ADMIN
    assert membership.team.name == "founder's team"


def test_team_slugs_stay_unique_for_equal_names():
    first = create_team(name="Acme", owner=UserFactory())
    second = create_team(name="Acme", owner=UserFactory())
    assert (first.slug, second.slug) == ("acme", "acme-2")
