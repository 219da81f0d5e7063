"""Failed logins behind a proxy (DJANGO_TRUSTED_PROXY_COUNT=1) lock out the client
that failed, as the proxy reports it, and nobody else."""

import secrets

from .harness import Client, describe

KIND = "login limits"
ATTEMPTS = 30


def attempt(stack, forwarded_for, email=None, password="wrong-password"):
    email = email or f"nobody.{secrets.token_hex(4)}@example.com"
    return Client(stack, forwarded_for=forwarded_for).post(
        "/accounts/login/", {"login": email, "password": password}
    )


def locked(response):
    return response.status_code == 429 or "too many" in response.text.lower()


def run(stack, probes):
    seed = stack.seed
    client_a, client_b = "203.0.113.10", "203.0.113.20"
    responses = [attempt(stack, client_a) for _ in range(ATTEMPTS)]
    probes.record(
        KIND,
        f"{ATTEMPTS} failed logins from one client lock it out",
        locked(responses[-1]),
        describe(responses[-1]),
    )
    probes.record(
        KIND,
        "no failed login answered a server error",
        all(r.status_code < 500 for r in responses),
        sorted({r.status_code for r in responses}),
    )
    other = attempt(stack, client_b)
    probes.record(
        KIND, "another client is not locked out", not locked(other), describe(other)
    )
    role = next(iter(seed["roles"]))
    good = attempt(
        stack,
        "203.0.113.30",
        email=seed["roles"][role]["email"],
        password=seed["password"],
    )
    probes.record(
        KIND,
        "another client logs in with the right password",
        good.status_code == 302 and not locked(good),
        describe(good),
    )
    # A client cannot escape its lock by making up the first X-Forwarded-For entry:
    # the proxy appends the real address, which is what counts.
    spoofed = attempt(stack, f"198.51.100.77, {client_a}")
    probes.record(
        KIND,
        "a made-up first X-Forwarded-For entry does not lift the lock",
        locked(spoofed),
        describe(spoofed),
    )
