"""A team's overdue payment: every member sees the banner of the team they work in,
only admins may update the card, and the billing e-mails go to the admins."""

import pytest
from django.contrib.messages import get_messages
from django.core import mail

from apps.subscriptions.customer_emails import CANCELLATION_SCHEDULED
from apps.subscriptions.email_tasks import send_customer_email_task
from apps.subscriptions.subscribers import billing_adapter, subscriber_reference
from apps.subscriptions.tests.factories import (
    make_price,
    make_product,
    make_subscription,
)
from apps.teams.models import Membership
from apps.teams.tests.factories import MembershipFactory, TeamFactory
from apps.users.tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def past_due(subscriber):
    price = make_price(make_product(), "month", 1000)
    return make_subscription(subscriber, price, status="past_due")


@pytest.fixture
def member(subscriber):
    return MembershipFactory(team=subscriber).user


def test_members_see_the_banner_of_the_team_they_work_in(
    client, subscriber, member, past_due, urls
):
    client.force_login(member)
    page = client.get(urls("subscription")).content.decode()
    assert 'data-billing-alert="past_due"' in page
    # Another of the member's teams, in good standing, shows none once chosen.
    other = MembershipFactory(user=member).team
    page = client.get(other.get_absolute_url()).content.decode()
    assert "data-billing-alert" not in page


def test_a_member_sent_to_update_the_card_is_told_who_can(
    client, subscriber, member, past_due, urls
):
    client.force_login(member)
    response = client.get(urls("update_card"))
    assert response.status_code == 302
    assert response["Location"] == urls("subscription")
    [message] = get_messages(response.wsgi_request)
    assert "Only the people who manage this billing" in str(message)


def test_the_billing_managers_are_the_team_admins(subscriber, billing_user, member):
    second_admin = MembershipFactory(team=subscriber, role=Membership.Role.ADMIN).user
    MembershipFactory(
        team=subscriber, role=Membership.Role.ADMIN, user=UserFactory(is_active=False)
    )
    MembershipFactory(team=TeamFactory(), role=Membership.Role.ADMIN)
    managers = billing_adapter().billing_managers(subscriber)
    assert managers == [billing_user, second_admin]


def test_each_admin_gets_the_billing_e_mail_and_members_none(
    subscriber, billing_user, member, past_due
):
    second_admin = MembershipFactory(team=subscriber, role=Membership.Role.ADMIN).user
    data = {"subscription": past_due.id, "ends_at": 1900000000}
    reference = subscriber_reference(subscriber)
    assert send_customer_email_task(CANCELLATION_SCHEDULED, reference, data) == 2
    assert sorted(m.to[0] for m in mail.outbox) == sorted(
        [billing_user.email, second_admin.email]
    )
    assert all(len(m.to) == 1 for m in mail.outbox)
