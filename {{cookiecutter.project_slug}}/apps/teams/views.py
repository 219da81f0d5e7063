from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from .decorators import (
    CURRENT_TEAM_SESSION_KEY,
    team_admin_required,
    team_member_required,
)
from .forms import InvitationForm, RoleForm, TeamForm
from .invitations import (
    InvitationError,
    InvitationNotSent,
    TooManyInvitations,
    accept_invitation,
    check_invitation,
    send_invitation,
)
from .membership import LastAdminError, change_role, remove_member
from .models import Invitation, Membership, Team


@login_required
def home(request):
    """Send the user to the team they last worked in, or their first one."""
    teams = Team.objects.filter(members=request.user)
    team = teams.filter(slug=request.session.get(CURRENT_TEAM_SESSION_KEY)).first()
    team = team or teams.order_by("name").first()
    if team is None:
        return redirect("web:dashboard")
    return redirect(team)


@team_member_required
def dashboard(request, team_slug):
    return render(request, "teams/dashboard.html", {"team": request.team})


def _settings_page(request, team_form=None, invitation_form=None, status=200):
    team = request.team
    context = {
        "team": team,
        "team_form": team_form or TeamForm(instance=team),
        "invitation_form": invitation_form or InvitationForm(team=team),
        "memberships": team.memberships.select_related("user").order_by("created_at"),
        "pending_invitations": team.invitations.filter(
            accepted_at__isnull=True, revoked_at__isnull=True
        ),
        "roles": Membership.Role.choices,
    }
    return render(request, "teams/settings.html", context, status=status)


@team_admin_required
def team_settings(request, team_slug):
    """Rename the team; the page also lists members and invitations."""
    if request.method == "POST":
        form = TeamForm(request.POST, instance=request.team)
        if form.is_valid():
            form.save()
            messages.success(request, "Team renamed.")
            return redirect("teams:settings", team_slug=request.team.slug)
        return _settings_page(request, team_form=form, status=400)
    return _settings_page(request)


# The invitation is saved before its e-mail goes out (see send_invitation).
@transaction.non_atomic_requests
@require_POST
@team_admin_required
def invite(request, team_slug):
    form = InvitationForm(request.POST, team=request.team)
    if not form.is_valid():
        return _settings_page(request, invitation_form=form, status=400)
    try:
        invitation = send_invitation(
            team=request.team,
            email=form.cleaned_data["email"],
            role=form.cleaned_data["role"],
            invited_by=request.user,
            request=request,
        )
    except TooManyInvitations as error:
        form.add_error(None, str(error))
        return _settings_page(request, invitation_form=form, status=429)
    except InvitationNotSent as error:
        messages.error(request, str(error))
    else:
        messages.success(request, f"Invitation sent to {invitation.email}.")
    return redirect("teams:settings", team_slug=team_slug)


@require_POST
@team_admin_required
def cancel_invitation(request, team_slug, invitation_id):
    invitation = get_object_or_404(
        request.team.invitations,
        pk=invitation_id,
        accepted_at__isnull=True,
        revoked_at__isnull=True,
    )
    # Withdrawn, not deleted: it still counts towards the hourly sending limits.
    invitation.revoked_at = timezone.now()
    invitation.save(update_fields=["revoked_at"])
    messages.success(request, f"Invitation to {invitation.email} cancelled.")
    return redirect("teams:settings", team_slug=team_slug)


@require_POST
@team_admin_required
def change_member_role(request, team_slug, membership_id):
    membership = get_object_or_404(request.team.memberships, pk=membership_id)
    form = RoleForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose a valid role.")
    else:
        try:
            change_role(membership=membership, role=form.cleaned_data["role"])
            role = "an admin" if membership.is_admin else "a member"
            messages.success(request, f"{membership.user} is now {role}.")
        except LastAdminError as error:
            messages.error(request, str(error))
    return redirect("teams:settings", team_slug=team_slug)


@require_POST
@team_admin_required
def remove_team_member(request, team_slug, membership_id):
    membership = get_object_or_404(request.team.memberships, pk=membership_id)
    try:
        remove_member(membership=membership)
    except LastAdminError as error:
        messages.error(request, str(error))
        return redirect("teams:settings", team_slug=team_slug)
    messages.success(request, f"{membership.user} was removed from the team.")
    if membership.user == request.user:
        return redirect("teams:home")
    return redirect("teams:settings", team_slug=team_slug)


def accept(request, token):
    """Show an invitation; a signed-in invitee with the right e-mail can accept it."""
    invitation = get_object_or_404(
        Invitation.objects.select_related("team"), token=token
    )
    error = None
    if request.user.is_authenticated:
        try:
            check_invitation(invitation, request.user)
        except InvitationError as exc:
            error = str(exc)
        if error is None and request.method == "POST":
            accept_invitation(invitation=invitation, user=request.user)
            messages.success(request, f"Welcome to {invitation.team}!")
            return redirect(invitation.team)
    context = {"invitation": invitation, "error": error}
    return render(
        request, "teams/accept_invitation.html", context, status=403 if error else 200
    )
