"""Stripe out of reach answers a page that says so, instead of an error."""

import logging

from django.shortcuts import render

from apps.subscriptions.stripe_client import is_stripe_outage

logger = logging.getLogger(__name__)

# Seconds a visitor (or a client honouring Retry-After) waits before trying again.
RETRY_AFTER_SECONDS = 30


class StripeOutageMiddleware:
    """Turn a Stripe outage (no connection, a timeout, rate limiting or a 5xx) that a
    view did not handle into a 503 page with Retry-After.

    Stripe errors that refuse a request (a bad parameter, a declined card) stay
    with the views, which say what went wrong.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if not is_stripe_outage(exception):
            return None
        logger.warning(
            "Stripe is unavailable (%s) for %s %s: %s",
            type(exception).__name__,
            request.method,
            request.path,
            " ".join(str(exception).split())[:200],
        )
        response = render(request, "503.html", status=503)
        response["Retry-After"] = str(RETRY_AFTER_SECONDS)
        # Logged once, above: not again as a server error by django.request (which
        # would mail the ADMINS for every visitor during an outage).
        response._has_been_logged = True
        return response
