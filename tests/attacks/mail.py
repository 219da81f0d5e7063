"""SMTP down: the pages that send e-mail answer without a server error."""

import secrets

from .billing import billing_prefix, manager
from .harness import Client, describe, server_error

KIND = "smtp down"


def sends_mail(stack, role):
    """(name, callable) of the pages that send e-mail; each returns its response."""
    seed = stack.seed
    session = seed["roles"][role]["sessions"][4]

    def sign_up():
        email = f"new.{secrets.token_hex(4)}@example.com"
        password = "another-long-unusual-passphrase"
        return Client(stack, forwarded_for=f"198.51.100.{secrets.randbelow(200)}").post(
            "/accounts/signup/",
            {"email": email, "password1": password, "password2": password},
        )

    def password_reset():
        return Client(stack).post(
            "/accounts/password/reset/", {"email": seed["roles"][role]["email"]}
        )

    def add_email():
        email = f"added.{secrets.token_hex(4)}@example.com"
        return Client(stack, session).post(
            "/accounts/email/", {"email": email, "action_add": ""}
        )

    pages = [
        ("sign-up", sign_up),
        ("password reset", password_reset),
        ("add an e-mail address", add_email),
    ]
    if seed["team_build"]:

        def invite():
            email = f"invited.{secrets.token_hex(4)}@example.com"
            return Client(stack, session).post(
                billing_prefix(seed, role) + "settings/invite/",
                {"email": email, "role": "member"},
            )

        pages.append(("invitation", invite))
    return pages


def run(stack, probes):
    role = manager(stack.seed)
    pages = sends_mail(stack, role)
    # With the SMTP server up, each page sends mail: the probes below are not empty.
    for name, send in pages:

        def sends(send=send):
            before = len(stack.smtp.messages)
            response = send()
            if server_error(response) or len(stack.smtp.messages) == before:
                return (
                    f"{describe(response)}, {len(stack.smtp.messages) - before} mails"
                )
            return None

        probes.check(KIND, f"{name} sends mail while SMTP is up", sends)
    stack.smtp.down()
    try:
        for name, send in pages:

            def survives(send=send):
                response = send()
                if response.seconds > 15:
                    return f"took {response.seconds:.1f} s"
                return server_error(response)

            probes.check(KIND, f"{name} with SMTP down", survives)
    finally:
        stack.smtp.up()
