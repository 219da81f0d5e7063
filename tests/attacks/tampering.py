"""Tampering: prices not on sale, odd quantities and amounts, other subscribers' ids,
open redirects and forged hosts are refused without reaching Stripe's pages."""

import secrets
from urllib.parse import urljoin, urlsplit

from .billing import billing_prefix, manager, pay, start_checkout, stripe_get
from .harness import Client, describe, server_error

KIND = "tampering"
ARCHIVE = """
import stripe
from djstripe.models import Price
from apps.subscriptions.stripe_client import stripe_options
price = Price.objects.filter(active=True).exclude(stripe_data__recurring=None).first()
archived = stripe.Price.create(
    product=price.product_id, currency=price.currency, unit_amount=1,
    recurring={"interval": "month"}, **stripe_options()
)
archived = stripe.Price.modify(archived.id, active=False, **stripe_options())
Price.sync_from_stripe_data(archived)
result = archived.id
"""


def off_site(stack, response):
    """Where a redirect leads off the site, as a browser would resolve it, or None."""
    location = response.headers.get("Location", "")
    here = f"127.0.0.1:{stack.port}"
    target = urlsplit(urljoin(f"https://{here}/accounts/", location))
    if location and (target.scheme not in ("http", "https") or target.netloc != here):
        return f"redirected to {location}"
    return None


def refused(stack, response, statuses=(400, 403, 404)):
    """Why the response is not a refusal that keeps the customer on the site."""
    failure = server_error(response)
    if failure:
        return failure
    location = response.headers.get("Location", "")
    if stack.emulator_url in location or "/checkout/cs_" in location:
        return f"went on to Stripe: {describe(response)}"
    if response.status_code not in statuses and response.status_code != 302:
        return f"answered {describe(response)}"
    return None


def price_probes(stack, session, archived):
    seed = stack.seed
    prefix = billing_prefix(seed, manager(seed))
    bad_prices = {
        "unknown price": "price_not_on_sale",
        "archived price": archived,
        "empty price": "",
        "very long price id": "price_" + "x" * 5000,
        "quoted price id": "price_1' OR '1'='1",
        "one-off price at subscription Checkout": (seed["prices"]["one_off"] or ["-"])[
            0
        ],
    }
    for label, price in bad_prices.items():
        yield (
            f"subscription Checkout with {label}",
            lambda price=price: refused(
                stack,
                Client(stack, session).post(
                    prefix + "subscription/checkout/", {"price_id": price}
                ),
                (400,),
            ),
        )
        if price:
            yield (
                f"pricing Checkout link with {label}",
                lambda price=price: refused(
                    stack,
                    Client(stack, session).get(f"/pricing/checkout/{price[:200]}/"),
                    (400, 404),
                ),
            )
    yield (
        "subscription Checkout with the price id twice",
        lambda: refused(
            stack,
            Client(stack, session).post(
                prefix + "subscription/checkout/",
                [("price_id", "price_not_on_sale"), ("price_id", "")],
            ),
            (400,),
        ),
    )
    recurring = seed["prices"]["recurring"][0]
    for price in [*seed["prices"]["one_off"][:1], recurring, archived]:
        for quantity in ("-1", "0", "1000000000000", "abc", "1e3", "2.5", ""):
            yield (
                f"buy {price} x {quantity!r}",
                lambda price=price, quantity=quantity: refused(
                    stack,
                    Client(stack, session).post(
                        prefix + "subscription/buy/",
                        {"price_id": price, "quantity": quantity, "amount": "-5"},
                    ),
                ),
            )
    for amount in ("-5", "0", "1e309", "NaN", "Infinity", "abc", "99999999999999"):
        yield (
            f"wallet top-up of {amount!r}",
            lambda amount=amount: refused(
                stack,
                Client(stack, session).post(
                    prefix + "subscription/buy/",
                    {
                        "price_id": (seed["prices"]["top_up"] or ["-"])[0],
                        "amount": amount,
                    },
                ),
            ),
        )
    for code in ("", "x" * 5000, "LAUNCH20' --", "\x00"):
        yield (
            f"promotion code {code[:12]!r}",
            lambda code=code: server_error(
                Client(stack, session).post(
                    prefix + "subscription/promotion-code/", {"code": code}
                )
            ),
        )


def other_subscriber_probes(stack, session):
    """Ids of the other subscriber's objects, sent in the victim manager's requests."""
    seed = stack.seed
    prefix = billing_prefix(seed, manager(seed))
    other = manager(seed, other=True)
    other_client = Client(stack, seed["roles"][other]["sessions"][3])
    _, foreign_session = start_checkout(stack, other_client, other)
    if foreign_session:
        yield (
            "confirm page with the other subscriber's unpaid Checkout session",
            lambda: refused(
                stack,
                Client(stack, session).get(
                    f"{prefix}subscription/confirm/?session_id={foreign_session}"
                ),
                (404,),
            ),
        )
        paid_path = pay(stack, foreign_session)

        def paid():
            path = paid_path.replace(billing_prefix(seed, other), prefix, 1)
            response = Client(stack, session).get(path)
            if response.status_code != 404:
                return f"answered {describe(response)}, expected 404"
            return None

        yield "confirm page with the other subscriber's paid Checkout session", paid
        yield (
            "purchase page with the other subscriber's Checkout session",
            lambda: refused(
                stack,
                Client(stack, session).get(
                    f"{prefix}subscription/purchase/?session_id={foreign_session}"
                ),
                (404,),
            ),
        )
    if seed["team_build"]:
        beta_admin = seed["memberships"]["other_admin"]
        beta_invitation = seed["invitations"]["beta"]
        for label, path, data in (
            (
                "change the role of",
                f"settings/members/{beta_admin}/role/",
                {"role": "member"},
            ),
            ("remove", f"settings/members/{beta_admin}/remove/", None),
            (
                "cancel the invitation of",
                f"settings/invitations/{beta_invitation}/cancel/",
                None,
            ),
        ):
            yield (
                f"{label} the other team's member through the victim's URL",
                lambda path=path, data=data: refused(
                    stack, Client(stack, session).post(prefix + path, data), (404,)
                ),
            )


def redirect_probes(stack):
    seed = stack.seed
    role = manager(seed)
    targets = (
        "https://evil.example/",
        "//evil.example/",
        "/\\evil.example/",
        "https:evil.example",
        "javascript:alert(1)",
        "%2F%2Fevil.example",
    )
    for target in targets:

        def login(target=target):
            client = Client(stack, forwarded_for=f"192.0.2.{secrets.randbelow(250)}")
            response = client.post(
                f"/accounts/login/?next={target}",
                {
                    "login": seed["roles"][role]["email"],
                    "password": seed["password"],
                    "next": target,
                },
            )
            return off_site(stack, response) or server_error(response)

        yield f"log in with next={target}", login

        def logout(target=target):
            client = Client(stack, seed["roles"][role]["sessions"][-1])
            response = client.post(f"/accounts/logout/?next={target}", {"next": target})
            return off_site(stack, response) or server_error(response)

        yield f"log out with next={target}", logout

    def forged_host():
        response = Client(stack).get("/", headers={"Host": "evil.example"})
        return None if response.status_code == 400 else f"answered {describe(response)}"

    yield "a request for another Host", forged_host

    def forwarded_host():
        session = seed["roles"][role]["sessions"][3]
        response, session_id = start_checkout(
            stack,
            Client(stack, session),
            role,
            headers={"X-Forwarded-Host": "evil.example"},
        )
        if session_id is None:
            return server_error(response)
        started = stripe_get(stack, f"/v1/checkout/sessions/{session_id}")
        urls = [started.get("success_url") or "", started.get("cancel_url") or ""]
        if any("evil.example" in url for url in urls):
            return f"Checkout returns to {urls}"
        return None

    yield "Checkout with X-Forwarded-Host of another site", forwarded_host


def run(stack, probes):
    seed = stack.seed
    session = seed["roles"][manager(seed)]["sessions"][3]
    archived = stack.query("result", setup=ARCHIVE)
    probes.run_all(KIND, list(price_probes(stack, session, archived)))
    probes.run_all(KIND, list(other_subscriber_probes(stack, session)))
    probes.run_all(KIND, list(redirect_probes(stack)))
