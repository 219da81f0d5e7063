"""Authorization matrix: every URL of the site x every role x GET and POST.

The URLs come from the site's own resolver (seed.py), so a new page joins the matrix
by itself. Team URLs point at the victim team ("alpha"); the other team's admin and a
signed-in outsider must get 403/404 there and never see the victim's data.
"""

import re

from .harness import Client, describe, server_error

KIND = "authorization"
CONVERTER = re.compile(r"<(?:(\w+):)?(\w+)>")
REGEX_GROUP = re.compile(r"\(\?P<(\w+)>[^)]*\)")
# Pages for everyone: their answer only needs to be sane.
PUBLIC = {"web:home", "pricing:pricing"}
# Team pages a plain member may not use (only the team's admins manage it).
ADMIN_ONLY = {
    "teams:settings",
    "teams:invite",
    "teams:cancel_invitation",
    "teams:change_role",
    "teams:remove_member",
    "subscriptions:checkout",
    "subscriptions:buy",
    "subscriptions:promotion_code",
    "subscriptions:portal",
    "subscriptions:resume",
}
DENIED = {403, 404, 405}


def concrete_path(route, seed):
    """A path for the route, its arguments pointing at the victim's objects."""
    values = {
        "team_slug": seed.get("teams", {}).get("alpha"),
        "membership_id": seed.get("memberships", {}).get("spare_member"),
        "invitation_id": seed.get("invitations", {}).get("alpha"),
        "token": seed.get("invitation_tokens", {}).get("alpha"),
        "price_id": (seed["prices"]["recurring"] or ["price_missing"])[0],
        "key": "bogus-key",
        "uidb36": "zz",
    }

    def fill(match):
        return str(values.get(match.group(match.lastindex), "x"))

    path = REGEX_GROUP.sub(fill, route)
    path = CONVERTER.sub(fill, path)
    return "/" + path.replace("^", "").replace("$", "")


def probed_urls(seed):
    """(name, path) of every page of the site but the admin's inner pages and webhooks."""
    admin = seed["admin_url"]
    for url in seed["urls"]:
        route, name = url["route"], url["name"]
        if name.startswith("djstripe:") or route.startswith("static"):
            continue
        if route.startswith(admin) and route != admin:
            continue
        yield name or url["view"], concrete_path(route, seed)


def expectation(name, path, role, method, seed):
    """Check of one response for the role, or None when only sanity is asked."""
    team_page = "/a/" in path and seed.get("teams", {}).get("alpha", "~") in path
    victim = seed.get("team_names", {}).get("alpha")

    def denied(response):
        if response.status_code in DENIED:
            if role != "member" and victim and victim in response.text:
                return f"{describe(response)} shows the victim team's name"
            return None
        return f"answered {describe(response)}, expected 403/404"

    def to_login(response):
        location = response.headers.get("Location", "")
        if response.status_code == 302 and "/accounts/login/" in location:
            return None
        if response.status_code in DENIED:
            return None
        return f"answered {describe(response)}, expected a redirect to log in"

    if role == "anonymous":
        if name in PUBLIC or name.startswith("account_") or name.startswith("mfa_"):
            return None
        if path == "/" + seed["admin_url"]:
            return None
        # The invitation's token is what lets its holder see it, signed in or not.
        if name == "teams:accept_invitation":
            return None
        return to_login
    if not team_page:
        return None
    if role in ("outsider", "other_admin", "invitee"):
        return denied
    if role == "member" and name in ADMIN_ONLY:
        return denied
    return None


def probe(stack, role, session, name, path, method, check):
    def run():
        client = Client(stack, session)
        response = client.request(method, path)
        failure = server_error(response)
        if failure is None and response.seconds > 15:
            failure = f"took {response.seconds:.1f} s"
        if failure is None and check is not None:
            failure = check(response)
        return failure

    return f"{method} {path} as {role}", run


def run(stack, probes):
    seed = stack.seed
    sessions = {"anonymous": None}
    sessions.update({role: data["sessions"][0] for role, data in seed["roles"].items()})
    urls = list(probed_urls(seed))
    denied_first, allowed = [], []
    for role, session in sessions.items():
        for name, path in urls:
            for method in ("GET", "POST"):
                # Logging out ends the session the other probes of the role use.
                if name == "account_logout" and role != "anonymous":
                    session_used = seed["roles"][role]["sessions"][-1]
                else:
                    session_used = session
                check = expectation(name, path, role, method, seed)
                item = probe(stack, role, session_used, name, path, method, check)
                (denied_first if check is not None else allowed).append(item)
    # Denials first: the allowed POSTs may remove the spare member or the invitation.
    probes.run_all(KIND, denied_first)
    probes.run_all(KIND, allowed)
