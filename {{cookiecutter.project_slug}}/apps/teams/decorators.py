"""Access to team-scoped views: members only (404 otherwise), admins for some."""

from functools import wraps

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404

from .models import Membership

CURRENT_TEAM_SESSION_KEY = "current_team_slug"


def get_membership_or_404(request, team_slug: str) -> Membership:
    """The user's membership of the team, kept in `request.team` and `.membership`.

    404, not 403, for non-members: outsiders should not learn which teams exist.
    """
    membership = (
        Membership.objects.select_related("team")
        .filter(team__slug=team_slug, user=request.user)
        .first()
    )
    if membership is None:
        raise Http404("No such team.")
    request.team = membership.team
    request.membership = membership
    if request.session.get(CURRENT_TEAM_SESSION_KEY) != team_slug:
        # Remembered for the team switcher; written only when it changes.
        request.session[CURRENT_TEAM_SESSION_KEY] = team_slug
    return membership


def team_member_required(view):
    """Give the view `request.team` and `request.membership`; 404 for non-members."""

    @login_required
    @wraps(view)
    def wrapper(request, team_slug, *args, **kwargs):
        get_membership_or_404(request, team_slug)
        return view(request, team_slug, *args, **kwargs)

    return wrapper


def team_admin_required(view):
    """Like team_member_required, and 403 for members who are not admins."""

    @team_member_required
    @wraps(view)
    def wrapper(request, team_slug, *args, **kwargs):
        if not request.membership.is_admin:
            raise PermissionDenied("Only team admins can do this.")
        return view(request, team_slug, *args, **kwargs)

    return wrapper
