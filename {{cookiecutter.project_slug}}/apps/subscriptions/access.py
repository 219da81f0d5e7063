"""Finding the request's subscriber, and who may change its billing."""

from functools import wraps

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied

from .subscribers import subscriber_is_user


def _subscriber_access(view, manage: bool):
    """The access rules of the subscriber's pages around `view`."""
    # >>> team builds
    if not subscriber_is_user():
        # The team's own rules: non-members get 404, non-admins 403.
        from apps.teams.decorators import team_admin_required, team_member_required

        return (team_admin_required if manage else team_member_required)(view)
    # <<< team builds
    return login_required(view)


def with_subscriber(view, manage: bool = False):
    """Give the view `request.subscriber` and `request.can_manage_billing`.

    Where the subscriber is a team the view takes `team_slug` and `manage=True` lets
    only its admins in; a view that already checked the membership is reused.
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
        if getattr(request, "team", None) is not None and hasattr(
            request, "membership"
        ):
            return inner(request, *args, **kwargs)
        return _subscriber_access(inner, manage)(request, *args, **kwargs)

    return wrapper


def subscriber_view(manage: bool = False):
    """Decorator form of `with_subscriber`."""

    def decorator(view):
        return with_subscriber(view, manage=manage)

    return decorator
