"""Stripe-Signature headers for webhook deliveries made in tests."""

import hashlib
import hmac
import time


def stripe_signature(body: str, secret: str) -> str:
    """A Stripe-Signature header for `body`, made with `secret` as Stripe makes it."""
    timestamp = int(time.time())
    digest = hmac.new(
        secret.encode(), f"{timestamp}.{body}".encode(), hashlib.sha256
    ).hexdigest()
    return f"t={timestamp},v1={digest}"
