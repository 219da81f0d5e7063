"""Writes to teams and memberships; views call these, never the models directly."""

from allauth.account.models import EmailAddress
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.text import slugify

from .models import Invitation, Membership, Team


class LastAdminError(Exception):
    """Raised when a change would leave a team without an admin."""


def unique_team_slug(name: str) -> str:
    """A slug for the name that no team has yet (suffixing -2, -3... on clashes)."""
    base = slugify(name)[:50] or "team"
    slug, suffix = base, 2
    while Team.objects.filter(slug=slug).exists():
        slug = f"{base}-{suffix}"
        suffix += 1
    return slug


@transaction.atomic
def create_team(*, name: str, owner) -> Team:
    """Create a team with `owner` as its first admin."""
    team = Team.objects.create(name=name, slug=unique_team_slug(name))
    add_member(team=team, user=owner, role=Membership.Role.ADMIN)
    return team


def add_member(*, team: Team, user, role: str = Membership.Role.MEMBER) -> Membership:
    return Membership.objects.create(team=team, user=user, role=role)


def _refuse_losing_the_last_admin(membership: Membership, *, stays_admin: bool) -> None:
    """Raise LastAdminError if the change would leave the team without an admin.

    Locks the team's admin rows and the member's own row (in primary key order, so
    that two such changes queue rather than deadlock) and judges on what they hold
    now: two admins demoting each other at once cannot both see the other one left.
    Call inside the transaction that makes the change.
    """
    locked = list(
        Membership.objects.select_for_update()
        .filter(team_id=membership.team_id)
        .filter(Q(role=Membership.Role.ADMIN) | Q(pk=membership.pk))
        .order_by("pk")
        .values_list("pk", "role")
    )
    admins = {pk for pk, role in locked if role == Membership.Role.ADMIN}
    if membership.pk in admins and not stays_admin and len(admins) == 1:
        raise LastAdminError("A team needs at least one admin.")


@transaction.atomic
def change_role(*, membership: Membership, role: str) -> Membership:
    """Change a member's role; the last admin cannot be demoted."""
    _refuse_losing_the_last_admin(membership, stays_admin=role == Membership.Role.ADMIN)
    membership.role = role
    membership.save(update_fields=["role"])
    return membership


@transaction.atomic
def remove_member(*, membership: Membership) -> None:
    """Take a member out of the team, with any invitation still open to one of their
    addresses (else they could rejoin with it); the last admin cannot be removed."""
    _refuse_losing_the_last_admin(membership, stays_admin=False)
    user = membership.user
    addresses = {user.email.lower()} | {
        email.lower()
        for email in EmailAddress.objects.filter(user=user).values_list(
            "email", flat=True
        )
    }
    Invitation.objects.filter(
        team_id=membership.team_id,
        email__in=addresses,
        accepted_at__isnull=True,
        revoked_at__isnull=True,
    ).update(revoked_at=timezone.now())
    membership.delete()
