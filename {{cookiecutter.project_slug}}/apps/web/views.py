from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render


def home(request):
    """The landing page; signed-in people go straight to their dashboard."""
    if request.user.is_authenticated:
        return redirect(settings.LOGIN_REDIRECT_URL)
    return render(request, "web/home.html")


@login_required
def dashboard(request):
    return render(request, "web/dashboard.html")
