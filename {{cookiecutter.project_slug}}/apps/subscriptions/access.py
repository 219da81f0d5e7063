"""Finding the request's subscriber, and who may change its billing.

Team builds reuse the teams app's access rules (non-members 404, non-admins 403);
user builds bill the signed-in user.
"""

from functools import wraps

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied

from .subscribers import subscriber_is_user


def _team_access(view, manage: bool):
    from apps.teams.decorators import team_admin_required, team_member_required

    return (team_admin_required if manage else team_member_required)(view)


def with_subscriber(view, manage: bool = False):
    """Give the view `request.subscriber` and `request.can_manage_billing`.

    In team builds the view takes `team_slug`; `manage=True` lets only team admins
    in. A view that already ran the teams decorators (`request.team`) is reused.
    """

    def inner(request, *args, **kwargs):
        if subscriber_is_user():
            request.subscriber = request.user
            request.can_manage_billing = True
        else:
            request.subscriber = request.team
            request.can_manage_billing = request.membership.is_admin
        if manage and not request.can_manage_billing:
            raise PermissionDenied("Only team admins can change billing.")
        return view(request, *args, **kwargs)

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if subscriber_is_user():
            return login_required(inner)(request, *args, **kwargs)
        if getattr(request, "team", None) is not None and hasattr(
            request, "membership"
        ):
            return inner(request, *args, **kwargs)
        return _team_access(inner, manage)(request, *args, **kwargs)

    return wrapper


def subscriber_view(manage: bool = False):
    """Decorator form of `with_subscriber`."""

    def decorator(view):
        return with_subscriber(view, manage=manage)

    return decorator
