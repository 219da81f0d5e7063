"""Webhook forgery: a request not signed by the endpoint's secret is refused with a
400 and leaves nothing behind (no trigger row, no event)."""

import hashlib
import hmac
import json
import time

from .harness import Client, describe

KIND = "webhook forgery"
ENDPOINT = (
    "[(str(e.djstripe_uuid), e.secret) for e in "
    "__import__('djstripe.models', fromlist=['x']).WebhookEndpoint.objects.all()]"
)


def endpoint(stack):
    """The path and signing secret of the site's webhook endpoint."""
    uuid, secret = stack.query(ENDPOINT)[0]
    return f"/stripe/webhook/{uuid}/", secret


def sign(body: bytes, secret: str, timestamp=None) -> str:
    timestamp = int(time.time()) if timestamp is None else timestamp
    payload = f"{timestamp}.".encode() + body
    digest = hmac.new(secret.encode(), payload, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def event_body(marker: str, size: int = 0) -> bytes:
    event = {
        "id": f"evt_{marker}",
        "object": "event",
        "type": "customer.subscription.deleted",
        "api_version": "2024-06-20",
        "created": int(time.time()),
        "livemode": False,
        "data": {"object": {"id": f"sub_{marker}", "object": "subscription"}},
        "padding": "x" * size,
    }
    return json.dumps(event).encode()


def deliver(stack, path, body, headers):
    return Client(stack).post(
        path,
        body,
        csrf=False,
        headers={"Content-Type": "application/json", **headers},
        timeout=30,
    )


STORED = (
    "[m for m in {markers!r} if "
    "__import__('djstripe.models', fromlist=['x']).WebhookEventTrigger.objects"
    ".filter(body__contains=m).exists() or "
    "__import__('djstripe.models', fromlist=['x']).Event.objects"
    ".filter(id='evt_' + m).exists()]"
)


def run(stack, probes):
    path, secret = endpoint(stack)
    now = int(time.time())

    def forgeries():
        yield "unsigned", event_body("forged_unsigned"), {}
        body = event_body("forged_wrong_secret")
        yield "wrong secret", body, {"Stripe-Signature": sign(body, "whsec_wrong")}
        body = event_body("forged_header_secret")
        yield (
            "X-Djstripe-Webhook-Secret header",
            body,
            {
                "X-Djstripe-Webhook-Secret": secret,
                "Stripe-Signature": sign(body, "whsec_x"),
            },
        )
        yield (
            "X-Djstripe-Webhook-Secret header, no signature",
            event_body("forged_header_only"),
            {"X-Djstripe-Webhook-Secret": secret},
        )
        body = event_body("forged_stale")
        yield (
            "stale timestamp",
            body,
            {"Stripe-Signature": sign(body, secret, now - 3600)},
        )
        body = event_body("forged_tampered_before")
        signature = sign(body, secret)
        tampered = body.replace(b"customer.subscription.deleted", b"invoice.paid")
        yield "body tampered after signing", tampered, {"Stripe-Signature": signature}
        body = event_body("forged_huge", size=3_000_000)
        yield "huge body", body, {"Stripe-Signature": sign(body, "whsec_wrong")}
        body = event_body("forged_v0")
        yield (
            "v0 signature scheme only",
            body,
            {"Stripe-Signature": sign(body, secret).replace("v1=", "v0=")},
        )
        body = b'{"id": "evt_forged_not_json", '
        yield "malformed JSON, signed", body, {"Stripe-Signature": sign(body, secret)}
        body = event_body("forged_empty_signature")
        yield "empty signature", body, {"Stripe-Signature": ""}

    markers = []
    named = []
    for label, body, headers in forgeries():
        markers.append(label)
        marker = body.split(b'"evt_', 1)[-1].split(b'"', 1)[0].decode()

        # A body over Django's upload limit may be refused as too large instead.
        allowed = (400, 413) if len(body) > 1_000_000 else (400,)

        def probe(body=body, headers=headers, allowed=allowed):
            response = deliver(stack, path, body, headers)
            if response.status_code not in allowed:
                return f"answered {describe(response)}, expected {allowed}"
            return None

        named.append((label, probe, marker))
    probes.run_all(KIND, [(label, probe) for label, probe, _ in named], workers=4)

    def unknown_endpoint():
        body = event_body("forged_unknown_endpoint")
        response = deliver(
            stack,
            "/stripe/webhook/00000000-0000-4000-8000-000000000000/",
            body,
            {"Stripe-Signature": sign(body, secret)},
        )
        if response.status_code not in (400, 404):
            return f"answered {describe(response)}, expected 400 or 404"
        return None

    probes.check(KIND, "unknown endpoint uuid", unknown_endpoint)
    stored = set(stack.query(STORED.format(markers=[m for _, _, m in named])))
    for label, _, marker in named:
        # Signed with the endpoint's own secret, it is no forgery: only its 400 counts.
        if label == "malformed JSON, signed":
            continue
        probes.record(
            KIND,
            f"{label}: nothing stored",
            marker not in stored,
            f"a trigger or event row holds {marker}",
        )
