"""Inviting people to a team by e-mail and accepting those invitations."""

import logging
from datetime import timedelta
from urllib.parse import urlsplit

from allauth.account.models import EmailAddress
from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import Resolver404, resolve
from django.utils import timezone

from .membership import add_member
from .models import Invitation, Membership, Team

logger = logging.getLogger(__name__)


class InvitationError(Exception):
    """Raised with a message the invitee can read when an invitation cannot be used."""


class TooManyInvitations(Exception):
    """Raised with a message for the admin when an hourly sending limit is reached."""


class InvitationNotSent(Exception):
    """Raised with a message for the admin when the invitation e-mail failed."""


def check_sending_limits(*, team: Team, invited_by) -> None:
    """Raise TooManyInvitations if the team or the sender used up the last hour's.

    Counted from the invitations sent in the last hour (every e-mail is a row of its
    own, withdrawn ones included): exact across every web process and restart, with
    nothing to configure, where a cache would be per process in development.
    """
    sent = Invitation.objects.filter(
        created_at__gte=timezone.now() - timedelta(hours=1)
    )
    if sent.filter(team=team).count() >= settings.TEAMS_INVITATIONS_PER_HOUR_PER_TEAM:
        raise TooManyInvitations(
            "This team has sent as many invitations as it may in an hour. "
            "Try again later."
        )
    if (
        sent.filter(invited_by=invited_by).count()
        >= settings.TEAMS_INVITATIONS_PER_HOUR_PER_USER
    ):
        raise TooManyInvitations(
            "You have sent as many invitations as you may in an hour. Try again later."
        )


def send_invitation(*, team, email: str, role: str, invited_by, request) -> Invitation:
    """Record an invitation, replacing an open one to the same address, and e-mail it.

    Commits before the e-mail goes out, so call it outside a transaction: a slow or
    failing mail server then holds no lock, and the invitation stays, to be resent.
    """
    email = email.strip().lower()
    with transaction.atomic():
        # One invitation at a time per team, so that two at once can neither both
        # pass the limit nor both open an invitation to the same address.
        Team.objects.select_for_update().filter(pk=team.pk).exists()
        check_sending_limits(team=team, invited_by=invited_by)
        team.invitations.filter(
            email=email, accepted_at__isnull=True, revoked_at__isnull=True
        ).update(revoked_at=timezone.now())
        invitation = Invitation.objects.create(
            team=team, email=email, role=role, invited_by=invited_by
        )
    context = {
        "invitation": invitation,
        # The team's name is the inviter's free text: one line, in the body only.
        "team_name": " ".join(team.name.split()),
        "site_name": settings.SITE_NAME,
        "accept_url": request.build_absolute_uri(invitation.get_absolute_url()),
    }
    try:
        send_mail(
            subject=render_to_string("teams/email/invitation_subject.txt", context)
            .strip()
            .replace("\n", " "),
            message=render_to_string("teams/email/invitation_message.txt", context),
            from_email=None,
            recipient_list=[invitation.email],
        )
    except OSError as error:  # smtplib.SMTPException too
        logger.exception("Could not send the invitation to %s", invitation.email)
        raise InvitationNotSent(
            f"The invitation to {invitation.email} is saved, but its e-mail could not "
            "be sent just now. Invite the same address again in a few minutes to "
            "send it again."
        ) from error
    return invitation


def check_invitation_open(invitation: Invitation) -> None:
    """Raise InvitationError unless `invitation` can still be accepted by someone."""
    if invitation.is_revoked:
        raise InvitationError(
            "This invitation was withdrawn or replaced by a newer one. Use the "
            "newest invitation e-mail, or ask for a new one."
        )
    if invitation.is_used:
        raise InvitationError("This invitation has already been used.")
    if invitation.is_expired:
        raise InvitationError("This invitation has expired. Ask for a new one.")


def check_invitation(invitation: Invitation, user) -> None:
    """Raise InvitationError unless `user` may accept `invitation` now.

    Only from the invited address, confirmed: a forwarded or leaked link is of no
    use to anyone else.
    """
    check_invitation_open(invitation)
    addresses = EmailAddress.objects.filter(user=user, email__iexact=invitation.email)
    if addresses.filter(verified=True).exists():
        return
    if addresses.exists() or user.email.lower() == invitation.email.lower():
        raise InvitationError(
            f"Confirm {invitation.email} first: follow the link in the confirmation "
            "e-mail we sent to it, then open this invitation again."
        )
    raise InvitationError(
        f"This invitation is for {invitation.email}, but you are signed in as "
        f"{user.email}. Log out, then sign in or sign up with {invitation.email} "
        "to accept it."
    )


def invitation_signed_up_for(request, user) -> Invitation | None:
    """The invitation `user` is signing up to accept, or None.

    The invitation page sends visitors to sign up with `?next=` its own URL; the
    sign-up form passes `next` on. The invitation counts if it is open and `user`
    signed up with its address (which they confirm before they can accept it).
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
    if invitation is None or invitation.email.lower() != user.email.lower():
        return None
    try:
        check_invitation_open(invitation)
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
