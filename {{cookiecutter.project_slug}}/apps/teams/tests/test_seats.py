"""A team's seats are its members, and every change marks it for the seat sync and
queues one, never waiting on Stripe."""

import threading

import pytest
import stripe
from allauth.account.models import EmailAddress
from django.db import connection
from djstripe.models import Price

from apps.subscriptions import tasks
from apps.subscriptions.sync import sync_subscriptions
from apps.subscriptions.tests.factories import make_subscription
from apps.subscriptions.tests.seat_scenario import (
    create_price,
    new_user,
    stripe_quantity,
    subscribe,
    tasks_queued_not_run,
)
from apps.teams.invitations import accept_invitation
from apps.teams.membership import add_member, change_role, create_team, remove_member
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


@pytest.fixture
def queued(monkeypatch):
    """The pks of the subscribers whose seat sync was queued, in order."""
    pks = []
    monkeypatch.setattr(tasks.sync_subscriber_task, "delay", pks.append)
    return pks


@pytest.fixture
def per_seat(settings):
    settings.SUBSCRIPTIONS_PER_SEAT = True


@pytest.fixture
def subscribed_team(synced_team, per_seat, catalogue):
    make_subscription(synced_team, Price.objects.first())
    return synced_team


def test_a_new_member_queues_a_seat_sync_once_committed(
    subscribed_team, queued, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as callbacks:
        add_member(team=subscribed_team, user=UserFactory())
        assert queued == []

    for callback in callbacks:
        callback()
    assert queued == [subscribed_team.pk]


def test_a_team_without_a_subscription_queues_nothing(
    synced_team, per_seat, queued, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        add_member(team=synced_team, user=UserFactory())

    assert has_changed(synced_team)
    assert queued == []


@pytest.mark.django_db(transaction=True)
def test_an_invitation_is_accepted_while_a_seat_sync_waits_on_stripe(
    client, stripe_emulator, per_seat, monkeypatch
):
    with tasks_queued_not_run():
        team = create_team(name="Seats", owner=new_user())
        subscribe(team, create_price())
        add_member(team=team, user=new_user())
    invitee = new_user()
    EmailAddress.objects.create(user=invitee, email=invitee.email, verified=True)
    invitation = InvitationFactory(team=team, email=invitee.email)
    in_stripe, answer = threading.Event(), threading.Event()
    update = stripe.Subscription.modify

    def slow_update(*args, **kwargs):
        in_stripe.set()
        answer.wait(timeout=20)
        return update(*args, **kwargs)

    monkeypatch.setattr(stripe.Subscription, "modify", slow_update)

    def run_sync():
        try:
            sync_subscriptions()
        finally:
            connection.close()

    sync = threading.Thread(target=run_sync)
    sync.start()
    assert in_stripe.wait(timeout=10)

    client.force_login(invitee)
    with tasks_queued_not_run():
        response = client.post(invitation.get_absolute_url())
    sync_still_waiting = sync.is_alive()
    answer.set()
    sync.join(timeout=20)

    assert response.status_code == 302
    assert sync_still_waiting
    assert team.memberships.filter(user=invitee).exists()
    # The sync counted again after its write, and carried the third seat too.
    assert stripe_quantity(team) == 3
