"""The per-seat docs' example, pasted: a user billed by the workspaces they own.

The model and the `get_quantity()` override below are the docs' code as written
there; the test gives the model a table, subscribes a user through the emulator and
lets `sync_subscriptions` carry each change of workspaces to Stripe.
"""

import pytest
from django.conf import settings
from django.db import connection, models
from django.utils import timezone

from apps.subscriptions.sync import sync_subscriptions
from apps.subscriptions.tests.seat_scenario import (
    create_price,
    stripe_quantity,
    subscribe,
)
from apps.users.models import User


# --- the docs' example: apps/workspaces/models.py ---------------------------------
class Workspace(models.Model):
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="workspaces"
    )
    name = models.CharField(max_length=100)

    class Meta:
        app_label = "users"  # the docs put it in an app of its own

    def __str__(self) -> str:
        return self.name

    def save(self, *args, **kwargs):
        super().save(*args, **kwargs)
        # One more (or one moved) workspace changes what its owner is billed for.
        self.owner.billing_details_last_changed = timezone.now()
        self.owner.save(update_fields=["billing_details_last_changed"])


# --- the docs' example: on the User model -------------------------------------------
def get_quantity(self) -> int:
    """One unit per workspace the user owns (at least one, to subscribe)."""
    return max(1, self.workspaces.count())


@pytest.fixture
def workspaces_billed(monkeypatch, settings):
    settings.SUBSCRIPTIONS_PER_SEAT = True
    monkeypatch.setattr(User, "get_quantity", get_quantity)
    # A test database made from the models already has the table; one made by the
    # migrations has not.
    if Workspace._meta.db_table not in connection.introspection.table_names():
        with connection.schema_editor() as editor:
            editor.create_model(Workspace)


@pytest.mark.django_db
def test_the_workspace_example_bills_each_owned_workspace(
    workspaces_billed, stripe_emulator, user
):
    subscribe(user, create_price())
    assert stripe_quantity(user) == 1

    Workspace.objects.create(owner=user, name="First")
    Workspace.objects.create(owner=user, name="Second")
    Workspace.objects.create(owner=user, name="Third")
    counts = sync_subscriptions()

    assert (counts.checked, counts.updated) == (1, 1)
    assert stripe_quantity(user) == 3
    # Nothing changed since: the next run writes nothing.
    counts = sync_subscriptions()
    assert (counts.checked, counts.unchanged) == (1, 1)
