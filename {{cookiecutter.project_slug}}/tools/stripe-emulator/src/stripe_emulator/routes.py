"""The API's routes: method, path pattern and the function that answers it.

Every handler is called as `handler(store, params, **ids)` with the request's
parameters (query and form body together, `expand` taken out) and the `{id}` parts
of the path; it returns the JSON answer or raises `StripeError`.
"""

import re
from collections.abc import Callable
from typing import Any

from . import (
    account,
    balances,
    catalog,
    charges,
    checkout,
    clocks,
    coupons,
    customers,
    discounts,
    events,
    intents,
    invoices,
    pauses,
    payments,
    portal,
    portal_configurations,
    subscription_updates,
    subscriptions,
    webhooks,
)
from .errors import StripeError

Handler = Callable[..., Any]


class Route:
    """One API route: method, a path pattern with {id} parts, and its handler."""

    def __init__(self, method: str, pattern: str, handler: Handler) -> None:
        self.method = method
        self.pattern = pattern
        self.regex = re.compile(
            "^" + re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", pattern) + "$"
        )
        self.handler = handler
        # Whether a successful answer changes the state (the state file is rewritten).
        self.mutates = method != "GET"


ROUTES = [
    Route("GET", "/v1/account", account.get_account),
    Route("GET", "/v1/accounts", account.list_accounts),
    Route("GET", "/v1/accounts/{id}", account.retrieve_account),
    Route("POST", "/v1/products", catalog.create_product),
    Route("GET", "/v1/products", catalog.list_products),
    Route("GET", "/v1/products/{id}", catalog.retrieve_product),
    Route("POST", "/v1/products/{id}", catalog.update_product),
    Route("DELETE", "/v1/products/{id}", catalog.delete_product),
    Route("GET", "/v1/products/{id}/features", catalog.list_product_features),
    Route("POST", "/v1/prices", catalog.create_price),
    Route("GET", "/v1/prices", catalog.list_prices),
    Route("GET", "/v1/prices/{id}", catalog.retrieve_price),
    Route("POST", "/v1/prices/{id}", catalog.update_price),
    Route("POST", "/v1/customers", customers.create_customer),
    Route("GET", "/v1/customers", customers.list_customers),
    Route("GET", "/v1/customers/{id}", customers.retrieve_customer),
    Route("POST", "/v1/customers/{id}", customers.update_customer),
    Route("DELETE", "/v1/customers/{id}", customers.delete_customer),
    Route(
        "GET",
        "/v1/customers/{id}/payment_methods",
        customers.list_customer_payment_methods,
    ),
    Route("GET", "/v1/customers/{id}/sources", customers.list_customer_sources),
    Route("GET", "/v1/customers/{id}/tax_ids", customers.list_customer_tax_ids),
    Route("GET", "/v1/payment_methods", customers.list_payment_methods),
    Route("GET", "/v1/payment_methods/{id}", customers.retrieve_payment_method),
    Route("POST", "/v1/payment_methods/{id}/attach", customers.attach_payment_method),
    Route("POST", "/v1/payment_methods/{id}/detach", customers.detach_payment_method),
    Route("POST", "/v1/checkout/sessions", checkout.create_checkout_session),
    Route("GET", "/v1/checkout/sessions", checkout.list_checkout_sessions),
    Route("GET", "/v1/checkout/sessions/{id}", checkout.retrieve_checkout_session),
    Route(
        "GET",
        "/v1/checkout/sessions/{id}/line_items",
        checkout.list_checkout_line_items,
    ),
    Route(
        "POST", "/v1/checkout/sessions/{id}/expire", checkout.expire_checkout_session
    ),
    Route(
        "POST",
        "/v1/billing_portal/configurations",
        portal_configurations.create_configuration,
    ),
    Route(
        "GET",
        "/v1/billing_portal/configurations",
        portal_configurations.list_configurations,
    ),
    Route(
        "GET",
        "/v1/billing_portal/configurations/{id}",
        portal_configurations.retrieve_configuration,
    ),
    Route(
        "POST",
        "/v1/billing_portal/configurations/{id}",
        portal_configurations.update_configuration,
    ),
    Route("POST", "/v1/billing_portal/sessions", portal.create_portal_session),
    Route("POST", "/v1/subscriptions", subscriptions.create_subscription),
    Route("GET", "/v1/subscriptions", subscriptions.list_subscriptions),
    Route("GET", "/v1/subscriptions/{id}", subscriptions.retrieve_subscription),
    Route("POST", "/v1/subscriptions/{id}", subscription_updates.update_subscription),
    Route("DELETE", "/v1/subscriptions/{id}", subscriptions.cancel_subscription),
    Route("POST", "/v1/subscriptions/{id}/resume", pauses.resume_subscription),
    Route(
        "DELETE",
        "/v1/subscriptions/{id}/discount",
        discounts.delete_subscription_discount,
    ),
    Route("GET", "/v1/subscription_items", subscriptions.list_subscription_items),
    Route(
        "GET",
        "/v1/subscription_items/{id}",
        subscriptions.retrieve_subscription_item,
    ),
    Route("GET", "/v1/invoices", invoices.list_invoices),
    Route("GET", "/v1/invoices/{id}", invoices.retrieve_invoice),
    Route("GET", "/v1/invoices/{id}/lines", invoices.list_invoice_lines),
    Route("POST", "/v1/invoices/{id}/pay", invoices.pay_invoice),
    Route("POST", "/v1/invoices/{id}/void", invoices.void_invoice),
    Route("POST", "/v1/invoices/{id}/mark_uncollectible", invoices.mark_uncollectible),
    Route("GET", "/v1/invoice_payments", payments.list_invoice_payments),
    Route("GET", "/v1/invoice_payments/{id}", payments.retrieve_invoice_payment),
    Route("GET", "/v1/payment_intents", payments.list_payment_intents),
    Route("GET", "/v1/payment_intents/{id}", payments.retrieve_payment_intent),
    Route("POST", "/v1/payment_intents", intents.create_payment_intent),
    Route("POST", "/v1/payment_intents/{id}", intents.update_payment_intent),
    Route("POST", "/v1/payment_intents/{id}/confirm", intents.confirm_payment_intent),
    Route("POST", "/v1/payment_intents/{id}/cancel", intents.cancel_payment_intent),
    Route("GET", "/v1/charges", charges.list_charges),
    Route("GET", "/v1/charges/{id}", charges.retrieve_charge),
    Route("POST", "/v1/charges/{id}", charges.update_charge),
    Route("GET", "/v1/charges/{id}/refunds", charges.list_charge_refunds),
    Route("GET", "/v1/charges/{id}/refunds/{refund}", charges.retrieve_charge_refund),
    Route("POST", "/v1/refunds", charges.create_refund),
    Route("GET", "/v1/refunds", charges.list_refunds),
    Route("GET", "/v1/refunds/{id}", charges.retrieve_refund),
    Route("POST", "/v1/refunds/{id}", charges.update_refund),
    Route("POST", "/v1/coupons", coupons.create_coupon),
    Route("GET", "/v1/coupons", coupons.list_coupons),
    Route("GET", "/v1/coupons/{id}", coupons.retrieve_coupon),
    Route("POST", "/v1/coupons/{id}", coupons.update_coupon),
    Route("DELETE", "/v1/coupons/{id}", coupons.delete_coupon),
    Route("POST", "/v1/promotion_codes", coupons.create_promotion_code),
    Route("GET", "/v1/promotion_codes", coupons.list_promotion_codes),
    Route("GET", "/v1/promotion_codes/{id}", coupons.retrieve_promotion_code),
    Route("POST", "/v1/promotion_codes/{id}", coupons.update_promotion_code),
    Route(
        "POST",
        "/v1/customers/{id}/balance_transactions",
        balances.create_balance_transaction,
    ),
    Route(
        "GET",
        "/v1/customers/{id}/balance_transactions",
        balances.list_balance_transactions,
    ),
    Route(
        "GET",
        "/v1/customers/{id}/balance_transactions/{transaction}",
        balances.retrieve_balance_transaction,
    ),
    Route(
        "POST",
        "/v1/customers/{id}/balance_transactions/{transaction}",
        balances.update_balance_transaction,
    ),
    Route("GET", "/v1/events", events.list_events),
    Route("GET", "/v1/events/{id}", events.retrieve_event),
    Route("POST", "/v1/webhook_endpoints", webhooks.create_webhook_endpoint),
    Route("GET", "/v1/webhook_endpoints", webhooks.list_webhook_endpoints),
    Route("GET", "/v1/webhook_endpoints/{id}", webhooks.retrieve_webhook_endpoint),
    Route("POST", "/v1/webhook_endpoints/{id}", webhooks.update_webhook_endpoint),
    Route("DELETE", "/v1/webhook_endpoints/{id}", webhooks.delete_webhook_endpoint),
    Route("POST", "/v1/test_helpers/test_clocks", clocks.create_test_clock),
    Route("GET", "/v1/test_helpers/test_clocks", clocks.list_test_clocks),
    Route("GET", "/v1/test_helpers/test_clocks/{id}", clocks.retrieve_test_clock),
    Route("DELETE", "/v1/test_helpers/test_clocks/{id}", clocks.delete_test_clock),
    Route(
        "POST",
        "/v1/test_helpers/test_clocks/{id}/advance",
        clocks.advance_test_clock,
    ),
]


def _resource(path: str) -> str:
    """The path's first part after the version ('customers' in /v1/customers/x)."""
    parts = path.split("/", 3)
    return parts[2] if len(parts) > 2 and parts[1] == "v1" else ""


class Router:
    """Finds the route for a request, trying only the routes of its resource."""

    def __init__(self, routes: list[Route]) -> None:
        self.by_resource: dict[str, list[Route]] = {}
        for route in routes:
            self.by_resource.setdefault(_resource(route.pattern), []).append(route)

    def match(self, method: str, path: str) -> tuple[Route, dict[str, str]]:
        """The route and its path ids, or Stripe's 404 for an unknown URL or method."""
        path_matched = False
        for route in self.by_resource.get(_resource(path), ()):
            found = route.regex.match(path)
            if found:
                path_matched = True
                if route.method == method:
                    return route, found.groupdict()
        verb = "Unrecognized method" if path_matched else "Unrecognized request URL"
        raise StripeError(
            404,
            f"{verb} ({method}: {path}). Please see https://stripe.com/docs or we can"
            " help at https://support.stripe.com/.",
        )


ROUTER = Router(ROUTES)
