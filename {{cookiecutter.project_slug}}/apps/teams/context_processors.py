from apps.subscriptions.selectors import billing_alert
from apps.subscriptions.subscribers import subscriber_reverse

from .decorators import CURRENT_TEAM_SESSION_KEY
from .models import Team


def teams(request):
    """The user's teams, the one they are working in, that team's billing link and
    the banner of a payment it owes."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    user_teams = list(Team.objects.filter(members=user).order_by("name"))
    current = getattr(request, "team", None)
    if current is None:
        slug = request.session.get(CURRENT_TEAM_SESSION_KEY)
        current = next((t for t in user_teams if t.slug == slug), None)
    if current is None and user_teams:
        current = user_teams[0]
    context = {"user_teams": user_teams, "current_team": current}
    if current is not None:
        context["subscription_url"] = subscriber_reverse("subscription", current)
        context["billing_alert"] = billing_alert(current)
    return context
