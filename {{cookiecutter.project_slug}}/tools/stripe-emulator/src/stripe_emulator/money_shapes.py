"""New objects of the money resources beyond subscriptions: coupons, promotion
codes, discounts, charges, refunds and customer balance transactions.

Each returns a new object in the current API's shape with every top-level key that
Stripe sends (see `contract.py`); values the emulator does not model are null or
empty, as Stripe sends them for an account without the matching feature.
"""

from .shapes import JSON, address


def coupon(coupon_id: str, created: int) -> JSON:
    return {
        "id": coupon_id,
        "object": "coupon",
        "amount_off": None,
        "created": created,
        "currency": None,
        "duration": "once",
        "duration_in_months": None,
        "livemode": False,
        "max_redemptions": None,
        "metadata": {},
        "name": None,
        "percent_off": None,
        "redeem_by": None,
        "times_redeemed": 0,
        "valid": True,
    }


def promotion_code(promo_id: str, created: int, code: str, coupon_id: str) -> JSON:
    return {
        "id": promo_id,
        "object": "promotion_code",
        "active": True,
        "code": code,
        "created": created,
        "customer": None,
        "customer_account": None,
        "expires_at": None,
        "livemode": False,
        "max_redemptions": None,
        "metadata": {},
        "promotion": {"coupon": coupon_id, "type": "coupon"},
        "restrictions": {
            "first_time_transaction": False,
            "minimum_amount": None,
            "minimum_amount_currency": None,
        },
        "times_redeemed": 0,
    }


def discount(
    discount_id: str,
    start: int,
    coupon_id: str,
    customer_id: str | None,
    promo_id: str | None,
) -> JSON:
    """A discount: a coupon (maybe through a promotion code) applied to something."""
    return {
        "id": discount_id,
        "object": "discount",
        "checkout_session": None,
        "customer": customer_id,
        "customer_account": None,
        "end": None,
        "invoice": None,
        "invoice_item": None,
        "promotion_code": promo_id,
        "source": {"coupon": coupon_id, "type": "coupon"},
        "start": start,
        "subscription": None,
        "subscription_item": None,
    }


def deleted_discount(found: JSON) -> JSON:
    """The answer to deleting a discount: the discount, marked deleted, without `end`."""
    out = {k: v for k, v in found.items() if k != "end"}
    out["deleted"] = True
    return out


def card_details(pm: JSON) -> JSON:
    """A charge's `payment_method_details` for a card payment method."""
    card = pm["card"]
    return {
        "card": {
            "amount_authorized": None,
            "authorization_code": None,
            "brand": card["brand"],
            "checks": dict(card["checks"]),
            "country": card["country"],
            "exp_month": card["exp_month"],
            "exp_year": card["exp_year"],
            "fingerprint": card["fingerprint"],
            "funding": card["funding"],
            "installments": None,
            "last4": card["last4"],
            "mandate": None,
            "network": card["brand"],
            "network_token": {"used": False},
            "network_transaction_id": None,
            "regulated_status": card["regulated_status"],
            "three_d_secure": None,
            "wallet": None,
        },
        "type": "card",
    }


def charge(
    charge_id: str, created: int, intent: JSON, pm: JSON, receipt_url: str
) -> JSON:
    """A card charge for a payment intent's amount (succeeded until told otherwise)."""
    billing = pm["billing_details"]
    return {
        "id": charge_id,
        "object": "charge",
        "amount": intent["amount"],
        "amount_captured": intent["amount"],
        "amount_refunded": 0,
        "application": None,
        "application_fee": None,
        "application_fee_amount": None,
        "balance_transaction": None,
        "billing_details": {
            "address": dict(billing["address"] or address()),
            "email": billing["email"],
            "name": billing["name"],
            "phone": billing["phone"],
            "tax_id": None,
        },
        "calculated_statement_descriptor": "EMULATOR",
        "captured": True,
        "created": created,
        "currency": intent["currency"],
        "customer": intent["customer"],
        "description": intent["description"],
        "disputed": False,
        "failure_balance_transaction": None,
        "failure_code": None,
        "failure_message": None,
        "fraud_details": {},
        "livemode": False,
        "metadata": dict(intent["metadata"]),
        "on_behalf_of": None,
        "outcome": {
            "advice_code": None,
            "network_advice_code": None,
            "network_decline_code": None,
            "network_status": "approved_by_network",
            "reason": None,
            "risk_level": "normal",
            "seller_message": "Payment complete.",
            "type": "authorized",
        },
        "paid": True,
        "payment_intent": intent["id"],
        "payment_method": pm["id"],
        "payment_method_details": card_details(pm),
        "receipt_email": intent["receipt_email"],
        "receipt_number": None,
        "receipt_url": receipt_url,
        "refunded": False,
        "refunds": {
            "object": "list",
            "data": [],
            "has_more": False,
            "url": f"/v1/charges/{charge_id}/refunds",
        },
        "review": None,
        "shipping": None,
        "source": None,
        "source_transfer": None,
        "statement_descriptor": intent["statement_descriptor"],
        "statement_descriptor_suffix": None,
        "status": "succeeded",
        "transfer_data": None,
        "transfer_group": None,
    }


def refund(refund_id: str, created: int, charge_obj: JSON, amount: int) -> JSON:
    return {
        "id": refund_id,
        "object": "refund",
        "amount": amount,
        "balance_transaction": None,
        "charge": charge_obj["id"],
        "created": created,
        "currency": charge_obj["currency"],
        "customer": charge_obj["customer"],
        "customer_account": None,
        "destination_details": {
            "card": {
                "reference": None,
                "reference_status": "pending",
                "reference_type": "acquirer_reference_number",
                "type": "refund",
            },
            "type": "card",
        },
        "metadata": {},
        "payment_intent": charge_obj["payment_intent"],
        "payment_method": charge_obj["payment_method"],
        "reason": None,
        "receipt_number": None,
        "source_transfer_reversal": None,
        "status": "succeeded",
        "transfer_reversal": None,
    }


def balance_transaction(
    txn_id: str,
    created: int,
    customer_id: str,
    amount: int,
    currency: str,
    ending_balance: int,
    kind: str,
) -> JSON:
    """One entry of a customer's balance ledger (negative amounts are credits)."""
    return {
        "id": txn_id,
        "object": "customer_balance_transaction",
        "amount": amount,
        "checkout_session": None,
        "created": created,
        "credit_note": None,
        "currency": currency,
        "customer": customer_id,
        "customer_account": None,
        "description": None,
        "ending_balance": ending_balance,
        "invoice": None,
        "livemode": False,
        "metadata": {},
        "type": kind,
    }
