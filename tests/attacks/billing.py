"""Buying a plan through the site and the emulator's Checkout, as a customer would."""

import re
import time
from urllib.parse import urlsplit

import requests

from .harness import Client
from .stack import SECRET_KEY

CHECKOUT_ID = re.compile(r"/checkout/(cs_\w+)")


def billing_prefix(seed, role):
    """The path under which the role's subscriber has its billing pages."""
    if not seed["team_build"]:
        return "/"
    team = "beta" if role == "other_admin" else "alpha"
    return f"/a/{seed['teams'][team]}/"


def manager(seed, other=False):
    """The role that manages the victim's billing (or the other subscriber's)."""
    if seed["team_build"]:
        return "other_admin" if other else "admin"
    return "other_user" if other else "owner"


def start_checkout(stack, client, role, price=None, headers=None):
    """POST the subscription page's Checkout form; (response, Checkout session id)."""
    price = price or stack.seed["prices"]["recurring"][0]
    path = billing_prefix(stack.seed, role) + "subscription/checkout/"
    response = client.post(path, {"price_id": price}, headers=headers)
    match = CHECKOUT_ID.search(response.headers.get("Location", ""))
    return response, match.group(1) if match else None


def pay(stack, session_id, card="success"):
    """Pay a Checkout session on the emulator; the site path it returns to."""
    answer = stack.emulator("POST", f"checkout/{session_id}/complete", card=card)
    parts = urlsplit(answer["redirect"])
    return parts.path + (f"?{parts.query}" if parts.query else "")


def stripe_get(stack, path, **params):
    response = requests.get(
        stack.emulator_url + path, params=params, auth=(SECRET_KEY, ""), timeout=30
    )
    response.raise_for_status()
    return response.json()


def active_subscriptions(stack, customer):
    listed = stripe_get(stack, "/v1/subscriptions", customer=customer, status="all")
    return [s for s in listed["data"] if s["status"] in ("active", "trialing")]


def subscribe(stack, role, session_index=4):
    """Buy the cheapest plan for the role's subscriber, unless it has one (then the
    site sends it to the portal): its Stripe customer id, or None."""
    client = Client(stack, stack.seed["roles"][role]["sessions"][session_index])
    _, session_id = start_checkout(stack, client, role)
    if session_id is None:
        return None
    client.get(pay(stack, session_id))
    return stripe_get(stack, f"/v1/checkout/sessions/{session_id}")["customer"]


def settle(check, seconds=30):
    """Wait until `check()` is true (webhooks delivered, tasks run); its last value."""
    deadline = time.monotonic() + seconds
    while not (value := check()) and time.monotonic() < deadline:
        time.sleep(0.5)
    return value
