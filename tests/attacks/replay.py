"""Replays and duplicates: one validly signed event delivered ten times at once is
processed once, and every delivery gets an answer that is not a server error."""

import json
from concurrent.futures import ThreadPoolExecutor

import requests

from .harness import describe
from .stack import SECRET_KEY
from .webhooks import deliver, endpoint, sign

KIND = "replay"
COPIES = 10


def real_events(stack, limit=3):
    response = requests.get(
        f"{stack.emulator_url}/v1/events",
        params={"limit": limit},
        auth=(SECRET_KEY, ""),
        timeout=30,
    )
    response.raise_for_status()
    return response.json()["data"]


def run(stack, probes):
    path, secret = endpoint(stack)
    for event in real_events(stack):
        body = json.dumps(event).encode()

        def send(_, body=body):
            return deliver(stack, path, body, {"Stripe-Signature": sign(body, secret)})

        with ThreadPoolExecutor(COPIES) as pool:
            responses = list(pool.map(send, range(COPIES)))
        statuses = sorted(describe(response) for response in responses)
        name = f"{event['type']} {event['id']} x{COPIES} at once"
        probes.record(
            KIND,
            f"{name}: every copy answered without a server error",
            all(response.status_code < 500 for response in responses),
            statuses,
        )
        stored = stack.query(
            "__import__('djstripe.models', fromlist=['x']).Event.objects"
            f".filter(id={event['id']!r}).count()"
        )
        probes.record(KIND, f"{name}: stored once", stored == 1, f"{stored} rows")
        # A copy that lost a race for the event's row must not end in an error.
        errors = stack.query(
            "list(__import__('djstripe.models', fromlist=['x']).WebhookEventTrigger"
            f".objects.filter(body__contains={event['id']!r}).exclude(exception='')"
            ".values_list('exception', flat=True))"
        )
        probes.record(KIND, f"{name}: no copy failed", not errors, errors)
