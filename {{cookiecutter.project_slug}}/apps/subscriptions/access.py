"""Finding the request's subscriber, and who may change its billing."""

from functools import wraps

# >>> team builds
from django.core.exceptions import PermissionDenied

from apps.teams.decorators import team_admin_required, team_member_required
# <<< team builds
# >>> user builds
from django.contrib.auth.decorators import login_required
# <<< user builds


def with_subscriber(view, manage: bool = False):
    """Give the view `request.subscriber` and `request.can_manage_billing`.

    `manage=True` lets in only those who may change the billing. The view's
    signature is the same in every build: `view(request, *args, **kwargs)`.
    """

    # >>> team builds
    def inner(request, team_slug, *args, **kwargs):
        # The team is in `request.team`, so the view need not take its slug.
        request.subscriber = request.team
        request.can_manage_billing = request.membership.is_admin
        if manage and not request.can_manage_billing:
            raise PermissionDenied("Only team admins can change billing.")
        return view(request, *args, **kwargs)

    # <<< team builds
    # >>> user builds
    def inner(request, *args, **kwargs):
        request.subscriber = request.user
        request.can_manage_billing = True
        return view(request, *args, **kwargs)

    # <<< user builds
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        # >>> team builds
        if getattr(request, "team", None) is not None and hasattr(
            request, "membership"
        ):
            # An outer team decorator has checked the membership already.
            return inner(request, *args, **kwargs)
        # The team's own rules: non-members get 404, non-admins 403.
        access = team_admin_required if manage else team_member_required
        # <<< team builds
        # >>> user builds
        access = login_required
        # <<< user builds
        return access(inner)(request, *args, **kwargs)

    return wrapper


def subscriber_view(manage: bool = False):
    """Decorator form of `with_subscriber`."""

    def decorator(view):
        return with_subscriber(view, manage=manage)

    return decorator
