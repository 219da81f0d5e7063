"""Inviting people to a team by e-mail and accepting those invitations."""

from urllib.parse import urlsplit

from django.core.mail import send_mail
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import Resolver404, resolve
from django.utils import timezone

from .membership import add_member
from .models import Invitation, Membership


class InvitationError(Exception):
    """Raised with a message the invitee can read when an invitation cannot be used."""


def send_invitation(*, team, email: str, role: str, invited_by, request) -> Invitation:
    """Record an invitation and e-mail its link."""
    invitation = Invitation.objects.create(
        team=team, email=email.strip().lower(), role=role, invited_by=invited_by
    )
    context = {
        "invitation": invitation,
        "accept_url": request.build_absolute_uri(invitation.get_absolute_url()),
    }
    send_mail(
        subject=render_to_string("teams/email/invitation_subject.txt", context).strip(),
        message=render_to_string("teams/email/invitation_message.txt", context),
        from_email=None,
        recipient_list=[invitation.email],
    )
    return invitation


def check_invitation(invitation: Invitation, user) -> None:
    """Raise InvitationError unless `user` may accept `invitation` now."""
    if invitation.is_used:
        raise InvitationError("This invitation has already been used.")
    if invitation.is_expired:
        raise InvitationError("This invitation has expired. Ask for a new one.")
    if user.email.lower() != invitation.email.lower():
        raise InvitationError(
            f"This invitation is for {invitation.email}, but you are signed in as "
            f"{user.email}."
        )


def invitation_signed_up_for(request, user) -> Invitation | None:
    """The invitation `user` is signing up to accept, or None.

    The invitation page sends visitors to sign up with `?next=` its own URL; the
    sign-up form passes `next` on. The invitation counts only if `user` may accept it
    (its address, not used, not expired).
    """
    if request is None:
        return None
    next_url = request.POST.get("next") or request.GET.get("next") or ""
    try:
        match = resolve(urlsplit(next_url).path)
    except Resolver404:
        return None
    if match.view_name != "teams:accept_invitation":
        return None
    invitation = Invitation.objects.filter(token=match.kwargs["token"]).first()
    if invitation is None:
        return None
    try:
        check_invitation(invitation, user)
    except InvitationError:
        return None
    return invitation


@transaction.atomic
def accept_invitation(*, invitation: Invitation, user) -> Membership:
    """Join the invitation's team as `user` and mark the invitation used."""
    invitation = Invitation.objects.select_for_update().get(pk=invitation.pk)
    check_invitation(invitation, user)
    invitation.accepted_at = timezone.now()
    invitation.accepted_by = user
    invitation.save(update_fields=["accepted_at", "accepted_by"])
    existing = Membership.objects.filter(team=invitation.team, user=user).first()
    return existing or add_member(team=invitation.team, user=user, role=invitation.role)
