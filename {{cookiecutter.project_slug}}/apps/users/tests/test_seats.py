"""A user is billed one seat by default, and the documented hook bills by anything."""

import pytest

from apps.subscriptions.sync import mark_billing_details_changed

pytestmark = pytest.mark.django_db


def test_a_user_is_billed_one_seat_by_default(user):
    assert user.get_quantity() == 1


def test_marking_a_user_changed_moves_their_timestamp_past_the_last_sync(user):
    user.last_synced_with_stripe = user.billing_details_last_changed
    user.save()

    mark_billing_details_changed(user)

    user.refresh_from_db()
    assert user.billing_details_last_changed > user.last_synced_with_stripe
