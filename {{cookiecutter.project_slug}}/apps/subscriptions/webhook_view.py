"""The site's Stripe webhook endpoint, at dj-stripe's URL: a delivery must carry the
signature of its endpoint's secret before anything of it is stored or processed.

dj-stripe's own view stores each request in full before checking it, and under
DEBUG lets an `X-Djstripe-Webhook-Secret` header choose the secret it is checked
against. Here the signature is checked first, against the endpoint's secret only
(`register_webhook_endpoint --stripe-cli-secret` stores the one `stripe listen`
signs with); a verified delivery is then stored and processed by dj-stripe, which
keeps each event once however often Stripe delivers it.
"""

import logging

import stripe
from django.contrib.auth.decorators import login_not_required
from django.db import transaction
from django.http import HttpResponse, HttpResponseBadRequest
from django.shortcuts import get_object_or_404
from django.utils.decorators import method_decorator
from django.views.decorators.csrf import csrf_exempt
from django.views.generic import View
from djstripe.models import WebhookEndpoint, WebhookEventTrigger

from . import signals

logger = logging.getLogger(__name__)

# Stripe's events are a few KiB, tens at most: a larger body is not from Stripe.
MAX_BODY_BYTES = 512 * 1024
# The header dj-stripe reads under DEBUG to swap the endpoint's secret for another.
SECRET_OVERRIDE_HEADER = "HTTP_X_DJSTRIPE_WEBHOOK_SECRET"


def _refuse(endpoint, reason: str, status: int = 400) -> HttpResponse:
    """Answer a delivery that is not Stripe's; nothing of its body is kept or trusted."""
    logger.warning("Refused a Stripe webhook for %s: %s", endpoint, reason)
    signals.webhook_received.send(
        sender=WebhookEventTrigger,
        trigger=None,
        valid=False,
        event_id=None,
        event_type=None,
    )
    return HttpResponse(reason, status=status, content_type="text/plain")


# dj-stripe keeps the trigger row of a failed processing (with its exception) in its
# own transaction, so the view stays out of ATOMIC_REQUESTS, as dj-stripe's does.
@method_decorator(transaction.non_atomic_requests, name="dispatch")
@method_decorator(csrf_exempt, name="dispatch")
@method_decorator(login_not_required, name="dispatch")
class StripeWebhookView(View):
    """Verify, then store and process, one delivery of a Stripe event."""

    http_method_names = ["post"]

    def post(self, request, uuid):
        endpoint = get_object_or_404(WebhookEndpoint, djstripe_uuid=uuid)
        signature = request.META.get("HTTP_STRIPE_SIGNATURE")
        if not signature:
            return _refuse(endpoint, "no Stripe-Signature header")
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            return _refuse(endpoint, "a malformed Content-Length")
        if length > MAX_BODY_BYTES or len(request.body) > MAX_BODY_BYTES:
            return _refuse(endpoint, f"a body over {MAX_BODY_BYTES} bytes", 413)
        try:
            stripe.WebhookSignature.verify_header(
                request.body, signature, endpoint.secret, endpoint.djstripe_tolerance
            )
        except (stripe.SignatureVerificationError, ValueError) as error:
            return _refuse(endpoint, f"signature not verified ({error})")

        # dj-stripe checks the signature again as it stores the delivery: against
        # the endpoint's secret only, whatever the request says.
        request.META.pop(SECRET_OVERRIDE_HEADER, None)
        request.__dict__.pop("headers", None)
        try:
            trigger = WebhookEventTrigger.from_request(
                request, webhook_endpoint=endpoint
            )
        except stripe.InvalidRequestError as error:
            if error.code != "resource_missing":
                raise
            # Stripe no longer has what the event is about (deleted since, or never
            # known to this account): nothing to apply, and a non-2xx answer would
            # only have Stripe retry it for days. The trigger row keeps the error.
            logger.warning("Stripe webhook acknowledged unprocessed: %s", error)
            return HttpResponse("acknowledged: " + str(error.user_message or error))
        if not trigger.valid:
            return HttpResponseBadRequest("event not valid")
        return HttpResponse(str(trigger.id))
