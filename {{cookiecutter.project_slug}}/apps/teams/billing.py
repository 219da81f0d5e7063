"""How a team is billed: the adapter `apps.subscriptions` reads through the setting
`SUBSCRIPTIONS_BILLING_ADAPTER`. Members see the team's billing; admins manage it."""

from apps.subscriptions.subscribers import BillingAccess

from .decorators import get_membership_or_404
from .membership import create_team
from .models import Membership

# A team's billing pages live under the team's URL (see config/urls.py).
URL_KWARGS = ("team_slug",)


def get_billing_access(request, team_slug: str) -> BillingAccess:
    membership = get_membership_or_404(request, team_slug)
    return BillingAccess(membership.team, can_manage=membership.is_admin)


def url_kwargs(team) -> dict:
    return {"team_slug": team.slug}


def create_subscriber(owner):
    """A new team that `owner` administers (and so manages its billing)."""
    return create_team(name=f"{owner.get_display_name()}'s team", owner=owner)


def managed_subscriber(user):
    """The first team whose billing `user` manages (an admin of), or None."""
    membership = (
        Membership.objects.select_related("team")
        .filter(user=user, role=Membership.Role.ADMIN)
        .order_by("created_at")
        .first()
    )
    return membership.team if membership else None


def billing_managers(team) -> list:
    """The team's admins (active users), who get its billing e-mails."""
    memberships = (
        Membership.objects.select_related("user")
        .filter(team=team, role=Membership.Role.ADMIN, user__is_active=True)
        .order_by("created_at")
    )
    return [membership.user for membership in memberships]
