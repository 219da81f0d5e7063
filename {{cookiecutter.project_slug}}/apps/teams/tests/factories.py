from datetime import timedelta

import factory
from django.utils import timezone

from apps.teams.models import Invitation, Membership, Team
from apps.users.tests.factories import UserFactory


class TeamFactory(factory.django.DjangoModelFactory):
    name = factory.Sequence(lambda n: f"Team {n}")
    slug = factory.Sequence(lambda n: f"team-{n}")

    class Meta:
        model = Team


class MembershipFactory(factory.django.DjangoModelFactory):
    team = factory.SubFactory(TeamFactory)
    user = factory.SubFactory(UserFactory)
    role = Membership.Role.MEMBER

    class Meta:
        model = Membership


class InvitationFactory(factory.django.DjangoModelFactory):
    team = factory.SubFactory(TeamFactory)
    email = factory.Sequence(lambda n: f"invitee{n}@example.com")
    role = Membership.Role.MEMBER

    class Meta:
        model = Invitation

    class Params:
        expired = factory.Trait(
            expires_at=factory.LazyFunction(
                lambda: timezone.now() - timedelta(minutes=1)
            )
        )
        used = factory.Trait(accepted_at=factory.LazyFunction(timezone.now))
