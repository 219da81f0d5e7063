from allauth.account.signals import user_signed_up
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from apps.subscriptions.sync import mark_billing_details_changed

from .invitations import invitation_signed_up_for
from .membership import create_team
from .models import Membership, Team


@receiver(user_signed_up)
def create_team_on_sign_up(sender, request, user, **kwargs):
    """Everyone starts with a team of their own, which they administer, except
    those who sign up to join a team they were invited to."""
    if invitation_signed_up_for(request, user) is not None:
        return
    local_part = user.email.split("@")[0]
    create_team(name=f"{user.name or local_part}'s team", owner=user)


@receiver(post_save, sender=Membership)
def mark_seats_changed_on_join(sender, instance, created, **kwargs):
    """A new member is a new seat: its sync to Stripe is queued once it commits."""
    if created:
        mark_billing_details_changed(Team(pk=instance.team_id))


@receiver(post_delete, sender=Membership)
def mark_seats_changed_on_leave(sender, instance, **kwargs):
    """Any way a member leaves (removal, account deletion) frees a seat."""
    mark_billing_details_changed(Team(pk=instance.team_id))
