"""Writes to teams and memberships; views call these, never the models directly."""

from django.db import transaction
from django.utils.text import slugify

from .models import Membership, Team


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


def _is_last_admin(membership: Membership) -> bool:
    if not membership.is_admin:
        return False
    admins = Membership.objects.filter(team=membership.team, role=Membership.Role.ADMIN)
    return not admins.exclude(pk=membership.pk).exists()


@transaction.atomic
def change_role(*, membership: Membership, role: str) -> Membership:
    """Change a member's role; the last admin cannot be demoted."""
    if role != Membership.Role.ADMIN and _is_last_admin(membership):
        raise LastAdminError("A team needs at least one admin.")
    membership.role = role
    membership.save(update_fields=["role"])
    return membership


@transaction.atomic
def remove_member(*, membership: Membership) -> None:
    """Take a member out of the team; the last admin cannot be removed."""
    if _is_last_admin(membership):
        raise LastAdminError("A team needs at least one admin.")
    membership.delete()
