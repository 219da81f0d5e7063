"""Builders for the account, catalogue, customer, event, webhook and clock objects.

Each returns a new object in the current API's shape, with every top-level key that
Stripe sends; values the emulator does not model are null or empty, as Stripe sends
them for an account without the matching feature. Billing objects are in
`billing_shapes.py`.
"""

from typing import Any

JSON = dict[str, Any]

ADDRESS = {
    "city": None,
    "country": None,
    "line1": None,
    "line2": None,
    "postal_code": None,
    "state": None,
}


def address() -> JSON:
    return dict(ADDRESS)


def empty_list(url: str) -> JSON:
    return {"object": "list", "data": [], "has_more": False, "url": url}


def account(account_id: str, created: int) -> JSON:
    return {
        "id": account_id,
        "object": "account",
        "business_profile": {
            "mcc": None,
            "name": "Stripe emulator",
            "support_email": None,
            "support_phone": None,
            "support_url": None,
            "url": None,
        },
        "business_type": None,
        "capabilities": {"card_payments": "active", "transfers": "active"},
        "charges_enabled": True,
        "controller": {"type": "account"},
        "country": "US",
        "created": created,
        "default_currency": "usd",
        "details_submitted": True,
        "email": "emulator@example.com",
        "external_accounts": empty_list(f"/v1/accounts/{account_id}/external_accounts"),
        "future_requirements": {
            "alternatives": [],
            "current_deadline": None,
            "currently_due": [],
            "disabled_reason": None,
            "errors": [],
            "eventually_due": [],
            "past_due": [],
            "pending_verification": [],
        },
        "metadata": {},
        "payouts_enabled": True,
        "requirements": {
            "alternatives": [],
            "current_deadline": None,
            "currently_due": [],
            "disabled_reason": None,
            "errors": [],
            "eventually_due": [],
            "past_due": [],
            "pending_verification": [],
        },
        "settings": {
            "dashboard": {"display_name": "Stripe emulator", "timezone": "Etc/UTC"},
            "payments": {"statement_descriptor": "EMULATOR"},
        },
        "tos_acceptance": {"date": None, "ip": None, "user_agent": None},
        "type": "standard",
    }


def product(product_id: str, created: int, params: JSON) -> JSON:
    return {
        "id": product_id,
        "object": "product",
        "active": True,
        "created": created,
        "default_price": None,
        "description": None,
        "images": [],
        "livemode": False,
        "marketing_features": [],
        "metadata": {},
        "name": params["name"],
        "package_dimensions": None,
        "shippable": None,
        "statement_descriptor": None,
        "tax_code": None,
        "type": "service",
        "unit_label": None,
        "updated": created,
        "url": None,
    }


def price(price_id: str, created: int, product_id: str) -> JSON:
    return {
        "id": price_id,
        "object": "price",
        "active": True,
        "billing_scheme": "per_unit",
        "created": created,
        "currency": "usd",
        "custom_unit_amount": None,
        "livemode": False,
        "lookup_key": None,
        "metadata": {},
        "nickname": None,
        "product": product_id,
        "recurring": None,
        "tax_behavior": "unspecified",
        "tiers_mode": None,
        "transform_quantity": None,
        "type": "one_time",
        "unit_amount": None,
        "unit_amount_decimal": None,
    }


def plan_from_price(price_obj: JSON) -> JSON:
    """The legacy `plan` view of a recurring price, as Stripe still embeds it."""
    recurring = price_obj.get("recurring") or {}
    return {
        "id": price_obj["id"],
        "object": "plan",
        "active": price_obj["active"],
        "amount": price_obj["unit_amount"],
        "amount_decimal": price_obj["unit_amount_decimal"],
        "billing_scheme": price_obj["billing_scheme"],
        "created": price_obj["created"],
        "currency": price_obj["currency"],
        "interval": recurring.get("interval", "month"),
        "interval_count": recurring.get("interval_count", 1),
        "livemode": False,
        "metadata": price_obj["metadata"],
        "meter": None,
        "nickname": price_obj["nickname"],
        "product": price_obj["product"],
        "tiers_mode": price_obj["tiers_mode"],
        "transform_usage": None,
        "trial_period_days": recurring.get("trial_period_days"),
        "usage_type": recurring.get("usage_type", "licensed"),
    }


def customer(customer_id: str, created: int, sequence: int) -> JSON:
    return {
        "id": customer_id,
        "object": "customer",
        "address": None,
        "balance": 0,
        "created": created,
        "currency": None,
        "default_source": None,
        "delinquent": False,
        "description": None,
        "discount": None,
        "email": None,
        "invoice_prefix": f"EMU{sequence:05d}",
        "invoice_settings": {
            "custom_fields": None,
            "default_payment_method": None,
            "footer": None,
            "rendering_options": None,
        },
        "livemode": False,
        "metadata": {},
        "name": None,
        "next_invoice_sequence": 1,
        "phone": None,
        "preferred_locales": [],
        "shipping": None,
        "tax_exempt": "none",
        "test_clock": None,
    }


def payment_method(
    pm_id: str, created: int, card: dict[str, str], customer_id: str | None
) -> JSON:
    """A card payment method; `card` is the test card's brand/last4/funding."""
    return {
        "id": pm_id,
        "object": "payment_method",
        "allow_redisplay": "unspecified",
        "billing_details": {
            "address": address(),
            "email": None,
            "name": None,
            "phone": None,
            "tax_id": None,
        },
        "card": {
            "brand": card["brand"],
            "checks": {
                "address_line1_check": None,
                "address_postal_code_check": None,
                "cvc_check": "pass",
            },
            "country": "US",
            "display_brand": card["brand"],
            "exp_month": 12,
            "exp_year": 2034,
            "fingerprint": f"emu{card['last4']}",
            "funding": "credit",
            "generated_from": None,
            "last4": card["last4"],
            "networks": {"available": [card["brand"]], "preferred": None},
            "three_d_secure_usage": {"supported": True},
            "wallet": None,
            "regulated_status": "unregulated",
        },
        "created": created,
        "customer": customer_id,
        "customer_account": None,
        "livemode": False,
        "metadata": {},
        "type": "card",
    }


def event(
    event_id: str,
    created: int,
    event_type: str,
    data: JSON,
    api_version: str,
    request: dict[str, str | None],
) -> JSON:
    return {
        "id": event_id,
        "object": "event",
        "api_version": api_version,
        "created": created,
        "data": data,
        "livemode": False,
        "pending_webhooks": 0,
        "request": request,
        "type": event_type,
    }


def webhook_endpoint(endpoint_id: str, created: int, url: str, secret: str) -> JSON:
    return {
        "id": endpoint_id,
        "object": "webhook_endpoint",
        "api_version": None,
        "application": None,
        "created": created,
        "description": None,
        "enabled_events": [],
        "livemode": False,
        "metadata": {},
        "secret": secret,
        "status": "enabled",
        "url": url,
    }


def test_clock(clock_id: str, created: int, frozen_time: int, name: str | None) -> JSON:
    return {
        "id": clock_id,
        "object": "test_helpers.test_clock",
        "created": created,
        "deletes_after": created + 30 * 86400,
        "frozen_time": frozen_time,
        "livemode": False,
        "name": name,
        "status": "ready",
        "status_details": {},
    }


def deleted(object_type: str, object_id: str) -> JSON:
    return {"id": object_id, "object": object_type, "deleted": True}
