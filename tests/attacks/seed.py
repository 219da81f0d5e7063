"""Run inside a bake (`manage.py shell`): create the probes' users, teams, invitations
and signed-in sessions, and print them as one JSON line.

The list of URL patterns is printed too, so that every page of the site, a new one
included, joins the authorization matrix.
"""

import json

from allauth.account.models import EmailAddress
from django.apps import apps
from django.conf import settings
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from djstripe.models import Price

PASSWORD = "a-long-unusual-passphrase-31"
SESSIONS_PER_ROLE = 6
User = apps.get_model(settings.AUTH_USER_MODEL)


def user(email):
    account = User.objects.create_user(email=email, password=PASSWORD)
    EmailAddress.objects.create(user=account, email=email, verified=True, primary=True)
    return account


def sessions(account):
    cookies = []
    for _ in range(SESSIONS_PER_ROLE):
        client = Client()
        client.force_login(account)
        cookies.append(client.cookies[settings.SESSION_COOKIE_NAME].value)
    return cookies


def url_patterns(patterns, prefix="", namespace=None):
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            yield from url_patterns(
                pattern.url_patterns,
                prefix + str(pattern.pattern),
                pattern.namespace or namespace,
            )
        elif isinstance(pattern, URLPattern):
            name = pattern.name or ""
            yield {
                "route": prefix + str(pattern.pattern),
                "name": f"{namespace}:{name}" if namespace and name else name,
                "view": pattern.lookup_str,
            }


def seed():
    data = {
        "password": PASSWORD,
        "session_cookie": settings.SESSION_COOKIE_NAME,
        "csrf_cookie": settings.CSRF_COOKIE_NAME,
        "admin_url": settings.DJANGO_ADMIN_URL,
        "urls": list(url_patterns(get_resolver().url_patterns)),
        "team_build": apps.is_installed("apps.teams"),
    }
    roles = {}
    if data["team_build"]:
        from apps.teams.models import Invitation, Membership, Team

        alpha = Team.objects.create(name="Quokka Alpha Holdings", slug="quokka-alpha")
        beta = Team.objects.create(name="Wombat Beta Group", slug="wombat-beta")
        people = {
            "admin": (alpha, Membership.Role.ADMIN),
            "second_admin": (alpha, Membership.Role.ADMIN),
            "member": (alpha, Membership.Role.MEMBER),
            "spare_member": (alpha, Membership.Role.MEMBER),
            "other_admin": (beta, Membership.Role.ADMIN),
            "outsider": (None, None),
        }
        memberships = {}
        for role, (team, team_role) in people.items():
            account = user(f"{role.replace('_', '.')}@example.com")
            roles[role] = {"email": account.email, "sessions": sessions(account)}
            if team is not None:
                memberships[role] = Membership.objects.create(
                    team=team, user=account, role=team_role
                ).pk
        invitee = user("invitee@example.com")
        roles["invitee"] = {"email": invitee.email, "sessions": sessions(invitee)}
        data["teams"] = {"alpha": alpha.slug, "beta": beta.slug}
        data["team_names"] = {"alpha": alpha.name, "beta": beta.name}
        data["memberships"] = memberships
        data["invitations"] = {
            "alpha": Invitation.objects.create(
                team=alpha,
                email="invitee@example.com",
                invited_by=alpha.members.first(),
            ).pk,
            "beta": Invitation.objects.create(
                team=beta, email="someone@example.com"
            ).pk,
        }
        data["invitation_tokens"] = {
            "alpha": Invitation.objects.get(team=alpha).token,
            "beta": Invitation.objects.get(team=beta).token,
        }
    else:
        for role in ("owner", "other_user"):
            account = user(f"{role.replace('_', '.')}@example.com")
            roles[role] = {"email": account.email, "sessions": sessions(account)}
    data["roles"] = roles
    from apps.subscriptions.purchases import get_one_off_offers

    offers = get_one_off_offers()
    prices = {
        "recurring": [],
        "inactive": [],
        "one_off": [offer.price_id for offer in offers if not offer.is_top_up],
        "top_up": [offer.price_id for offer in offers if offer.is_top_up],
    }
    for price in Price.objects.order_by("stripe_data__unit_amount"):
        if not price.active:
            prices["inactive"].append(price.id)
        elif price.stripe_data.get("recurring"):
            prices["recurring"].append(price.id)
    data["prices"] = prices
    print("SEED " + json.dumps(data))


seed()
