"""CSRF: every page that takes a POST refuses one without a token or with a wrong one."""

from .authorization import probed_urls
from .harness import Client, describe

KIND = "csrf"


def run(stack, probes):
    seed = stack.seed
    # A visitor and the most trusted signed-in role (the team's admin, the owner).
    trusted = "admin" if seed["team_build"] else "owner"
    sessions = {"anonymous": None, trusted: seed["roles"][trusted]["sessions"][2]}
    named = []
    for role, session in sessions.items():
        for _name, path in probed_urls(seed):
            for variant in ("no token", "wrong token", "foreign origin"):

                def probe(session=session, path=path, variant=variant):
                    client = Client(stack, session)
                    if variant == "no token":
                        response = client.post(path, {"x": "1"}, csrf=False)
                    elif variant == "wrong token":
                        response = client.post(
                            path, {"csrfmiddlewaretoken": "A" * 32}, csrf=False
                        )
                    else:
                        response = client.post(
                            path, headers={"Origin": "https://evil.example"}
                        )
                    if response.status_code != 403:
                        return f"answered {describe(response)}, expected 403"
                    return None

                named.append((f"{variant}: POST {path} as {role}", probe))
    probes.run_all(KIND, named)
