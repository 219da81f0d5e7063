"""Checkout's money: discounts on a session (`discounts` at create, or a promotion
code typed on the hosted page when `allow_promotion_codes=true`), and sessions in
`mode=payment` (one-off purchases of one-time prices).

A session's discount shows on its line items (`amount_discount`, expandable
`discounts`), its `discounts` ([{coupon, promotion_code}]), `total_details`
(`amount_discount`, expandable `breakdown`) and `amount_total`. It is checked
again when the session completes, and counted as a redemption then.

Paying a payment-mode session charges the card once: a payment intent (with the
session's `payment_intent_data`) that succeeds with a charge, then
`checkout.session.completed` with `payment_status=paid`. A declined card pays
nothing and leaves the session open. The session has a customer when it was given
one, with `customer_creation=always`, or with `invoice_creation.enabled` (which
also makes a paid invoice of the purchase); otherwise `customer` stays null and
only `customer_details` says who paid.
"""

from typing import Any

from . import billing_shapes, discounts, shapes
from .catalog import one_time_price
from .coupons import find_promotion_code, usable_coupon, usable_promotion_code
from .customers import attach_card, card_for
from .errors import card_declined, invalid
from .events import emit
from .intents import card_payment_method, new_intent
from .invoices import draft_invoice, finalize, mark_paid
from .params import (
    as_bool,
    as_int,
    as_list,
    as_timestamp,
    check_nested,
    clone,
    merge_metadata,
)
from .payments import charge_intent
from .shapes import JSON
from .store import Store, random_suffix

PAYMENT_INTENT_DATA_FIELDS = {
    "capture_method",
    "description",
    "metadata",
    "receipt_email",
    "setup_future_usage",
    "statement_descriptor",
    "statement_descriptor_suffix",
}
INVOICE_DATA_FIELDS = {"description", "footer", "metadata"}
# Stripe's bounds for a session's own `expires_at`.
SHORTEST_EXPIRY, LONGEST_EXPIRY = 30 * 60, 24 * 3600
ItemSpec = tuple[JSON, int, dict[str, Any]]


# -- creating a session ----------------------------------------------------------


def payment_line_specs(store: Store, raw: Any) -> list[ItemSpec]:
    """Checked `line_items[...]` of a payment-mode session: one-time prices."""
    specs = []
    for index, item in enumerate(as_list(raw, "line_items")):
        where = f"line_items[{index}]"
        fields = check_nested(item, {"price", "quantity", "adjustable_quantity"}, where)
        if not fields.get("price"):
            raise invalid(
                f"Missing required param: {where}[price].",
                param=f"{where}[price]",
                code="parameter_missing",
            )
        price = one_time_price(store, fields["price"], f"{where}[price]")
        quantity = as_int(fields.get("quantity", 1), f"{where}[quantity]", 1)
        specs.append((price, quantity, {}))
    if not specs:
        raise invalid(
            "Missing required param: line_items.",
            param="line_items",
            code="parameter_missing",
        )
    if len({price["currency"] for price, _, _ in specs}) > 1:
        raise invalid(
            "All line items must be in the same currency.", param="line_items"
        )
    return specs


def payment_fields(params: JSON, session: JSON) -> JSON:
    """Apply the payment-mode parameters to a new session; returns what completing
    it needs (`payment_intent_data`)."""
    data = check_nested(
        params.get("payment_intent_data"),
        PAYMENT_INTENT_DATA_FIELDS,
        "payment_intent_data",
    )
    if data.get("capture_method") not in (None, "", "automatic", "automatic_async"):
        raise invalid(
            "The emulator captures payments automatically only.",
            param="payment_intent_data[capture_method]",
        )
    creation = params.get("customer_creation") or "if_required"
    if creation not in ("always", "if_required"):
        raise invalid(
            "Invalid customer_creation: must be one of always, if_required.",
            param="customer_creation",
            code="parameter_invalid_string",
        )
    session["customer_creation"] = creation
    invoicing = check_nested(
        params.get("invoice_creation"), {"enabled", "invoice_data"}, "invoice_creation"
    )
    if invoicing:
        invoice_data = check_nested(
            invoicing.get("invoice_data"),
            INVOICE_DATA_FIELDS,
            "invoice_creation[invoice_data]",
        )
        session["invoice_creation"] = {
            "enabled": as_bool(
                invoicing.get("enabled", False), "invoice_creation[enabled]"
            ),
            "invoice_data": {
                "account_tax_ids": None,
                "custom_fields": None,
                "description": invoice_data.get("description") or None,
                "footer": invoice_data.get("footer") or None,
                "issuer": {"type": "self"},
                "metadata": merge_metadata({}, invoice_data.get("metadata") or {}),
                "rendering_options": None,
            },
        }
    session["submit_type"] = params.get("submit_type") or None
    return dict(data)


def expires_at_param(params: JSON, now: int) -> int:
    """A session's `expires_at`: 30 minutes to 24 hours away (default 24 hours)."""
    if params.get("expires_at") in (None, ""):
        return now + LONGEST_EXPIRY
    expires = as_timestamp(params["expires_at"], "expires_at")
    if not SHORTEST_EXPIRY <= expires - now <= LONGEST_EXPIRY:
        raise invalid(
            "The `expires_at` timestamp must be between 30 minutes and 24 hours"
            " from now.",
            param="expires_at",
        )
    return expires


# -- discounts -------------------------------------------------------------------


def _purchase(session: JSON) -> tuple[int, str]:
    return session["amount_subtotal"], session["currency"]


def _trial(store: Store, session: JSON) -> bool:
    data = store.private(session["id"]).get("subscription_data") or {}
    return session["mode"] == "subscription" and bool(
        data.get("trial_period_days") or data.get("trial_end")
    )


def price_session(store: Store, session: JSON) -> None:
    """Work out the line items' and the session's amounts with its discount."""
    private = store.private(session["id"])
    items = private["line_items"]
    found = store.find(private.get("discount"))
    subtotals = [item["amount_subtotal"] for item in items]
    lines = [_as_line(item) for item in items]
    if found is not None:
        discounts.apply_to_lines(store, lines, session["currency"], [found])
    cut = [sum(d["amount"] for d in line["discount_amounts"]) for line in lines]
    for item, amount in zip(items, cut, strict=True):
        item["amount_discount"] = amount
        item["amount_total"] = item["amount_subtotal"] - amount
        # Shown (with the discount object) only when expanded: see listing.py.
        shown = [{"amount": amount, "discount": found["id"]}] if found else []
        store.private(item["id"])["discounts"] = shown
    session["amount_subtotal"] = sum(subtotals)
    taken = sum(cut)
    if _trial(store, session):
        # Nothing is due today during a trial: the discount starts with the bills.
        session["amount_total"], taken = 0, 0
    else:
        session["amount_total"] = session["amount_subtotal"] - taken
    session["total_details"]["amount_discount"] = taken
    private["breakdown"] = [{"amount": taken, "discount": found["id"]}] if found else []


def _as_line(item: JSON) -> JSON:
    """A Checkout line item seen as an invoice line, for the discount arithmetic."""
    return {
        "amount": item["amount_subtotal"],
        "discountable": True,
        "discount_amounts": [],
        "pricing": {"price_details": {"price": item["price"]["id"]}},
    }


def set_discount(
    store: Store, session: JSON, coupon: JSON | None, promo: JSON | None
) -> None:
    """Give the session this discount (or none), and price it again."""
    private = store.private(session["id"])
    private["discount"] = None
    session["discounts"] = []
    if coupon is not None:
        when = store.now(session["customer"])
        found = discounts.new_discount(store, coupon, promo, session["customer"], when)
        private["discount"] = found["id"]
        session["discounts"] = [
            {
                "coupon": None if promo else coupon["id"],
                "promotion_code": promo["id"] if promo else None,
            }
        ]
    price_session(store, session)


def discounts_param(store: Store, session: JSON, raw: Any) -> None:
    """`discounts=[{coupon}]` or `[{promotion_code}]` given at create (one at most)."""
    entries = as_list(raw, "discounts")
    if len(entries) > 1:
        raise invalid(
            "A Checkout Session takes one discount at most.", param="discounts"
        )
    when = store.now(session["customer"])
    specs = discounts.discount_specs(
        store, entries, "discounts", session["customer"], _purchase(session), when
    )
    if specs:
        coupon, promo, _ = specs[0]
        set_discount(store, session, coupon, promo)


def apply_promotion_code(store: Store, session_id: str, code: str | None) -> JSON:
    """What the hosted page's promotion code field does: apply the code typed (any
    case), or remove the discount when it is empty; refused codes raise 400."""
    session = store.fetch("checkout.session", session_id)
    if session["status"] != "open":
        raise invalid(f"This Checkout Session is {session['status']}.", param="session")
    if not session["allow_promotion_codes"]:
        raise invalid(
            "This Checkout Session does not accept promotion codes.",
            param="promotion_code",
        )
    code = (code or "").strip()
    if not code:
        set_discount(store, session, None, None)
        return session
    customer_id = session["customer"]
    promo = find_promotion_code(store, code, customer_id, "promotion_code")
    coupon = usable_promotion_code(
        store,
        promo,
        "promotion_code",
        customer_id,
        _purchase(session),
        store.now(customer_id),
    )
    set_discount(store, session, coupon, promo)
    return session


def checked_discount(
    store: Store, session: JSON, customer_id: str | None, when: int
) -> tuple[JSON | None, JSON | None]:
    """The session's discount checked again as it completes: (coupon, promotion
    code), or (None, None) without one."""
    found = store.find(store.private(session["id"]).get("discount"))
    if found is None:
        return None, None
    promo = store.find(found["promotion_code"])
    if promo is not None:
        coupon = usable_promotion_code(
            store, promo, "promotion_code", customer_id, _purchase(session), when
        )
        return coupon, promo
    coupon_id = found["source"]["coupon"]
    return usable_coupon(store, coupon_id, "discounts", session["currency"], when), None


# -- paying a payment-mode session -----------------------------------------------


def new_customer(store: Store, email: str | None, when: int) -> JSON:
    """The customer Checkout creates for whoever pays."""
    sequence = store.count("customer") + 1
    customer = shapes.customer(store.new_id("customer"), when, sequence)
    customer["email"] = email or f"customer{sequence}@example.com"
    store.save(customer)
    emit(store, "customer.created", customer, created=when)
    return customer


def _purchase_invoice(
    store: Store, session: JSON, customer: JSON, intent: JSON | None, when: int
) -> JSON:
    """The paid invoice of a purchase (`invoice_creation.enabled`)."""
    invoice = draft_invoice(store, customer, when)
    invoice.update(billing_reason="manual", subscription=None, parent=None)
    invoice["currency"] = session["currency"]
    settings = session["invoice_creation"]["invoice_data"]
    invoice["description"] = settings["description"]
    invoice["footer"] = settings["footer"]
    invoice["metadata"] = clone(settings["metadata"])
    for item in store.private(session["id"])["line_items"]:
        line = billing_shapes.invoice_line(
            store.new_id("line_item"),
            invoice["id"],
            {"id": None, "subscription": None, "price": item["price"]["id"]},
            item["amount_subtotal"],
            item["quantity"],
            {"start": when, "end": when},
            item["description"],
        )
        line["currency"] = session["currency"]
        line["subscription"] = None
        line["parent"] = {
            "invoice_item_details": {
                "invoice_item": "ii_" + random_suffix(14),
                "proration": False,
                "proration_details": {"credited_items": None},
                "subscription": None,
            },
            "subscription_item_details": None,
            "type": "invoice_item_details",
        }
        invoice["lines"]["data"].append(line)
    found = store.find(store.private(session["id"]).get("discount"))
    taken = discounts.discount_invoice(store, invoice, [found] if found else [])
    subtotal = sum(line["amount"] for line in invoice["lines"]["data"])
    invoice["subtotal"] = invoice["subtotal_excluding_tax"] = subtotal
    invoice["total"] = invoice["total_excluding_tax"] = subtotal - taken
    invoice["amount_due"] = invoice["amount_remaining"] = invoice["total"]
    # Paid by the session's payment: the customer's balance is left alone.
    invoice["starting_balance"] = invoice["ending_balance"] = 0
    invoice["period_start"] = invoice["period_end"] = when
    store.save(invoice)
    emit(store, "invoice.created", invoice, created=when)
    finalize(store, invoice, when, use_balance=False)
    if intent is not None:
        link = billing_shapes.invoice_payment(
            store.new_id("invoice_payment"), when, invoice, intent["id"]
        )
        link.update(status="paid", amount_paid=invoice["amount_due"])
        link["status_transitions"]["paid_at"] = when
        store.save(link)
    mark_paid(store, invoice, when)
    return invoice


def complete_payment(
    store: Store, session: JSON, card: str | None, email: str | None, when: int
) -> None:
    """Pay a payment-mode session as the hosted page does (see the module doc)."""
    due = session["amount_total"]
    if due > 0:
        if card is None:
            raise invalid("This Checkout Session needs a card.", param="card")
        if card_for(card)[2] != "success":
            raise card_declined()
    private = store.private(session["id"])
    customer = store.find(session["customer"])
    coupon, _ = checked_discount(
        store, session, customer["id"] if customer else None, when
    )
    invoicing = (session["invoice_creation"] or {}).get("enabled")
    if customer is None and (session["customer_creation"] == "always" or invoicing):
        customer = new_customer(store, email, when)
    customer_id = customer["id"] if customer else None
    data = private.get("payment_intent_data") or {}
    intent = None
    if due > 0:
        assert card is not None
        if data.get("setup_future_usage") and customer_id:
            pm = attach_card(store, customer_id, card)
        else:
            pm = card_payment_method(store, card, customer_id)
        intent = new_intent(store, due, session["currency"], customer_id, when)
        intent["description"] = data.get("description") or None
        intent["metadata"] = merge_metadata({}, data.get("metadata") or {})
        intent["receipt_email"] = data.get("receipt_email") or None
        intent["statement_descriptor"] = data.get("statement_descriptor") or None
        emit(store, "payment_intent.created", intent, created=when)
        charge_intent(store, intent, pm, when)
    found = store.find(private.get("discount"))
    if found is not None and coupon is not None:
        found.update(checkout_session=session["id"], customer=customer_id)
        discounts.redeem(store, found)
    invoice = None
    if invoicing and customer is not None:
        invoice = _purchase_invoice(store, session, customer, intent, when)
    session.update(
        status="complete",
        customer=customer_id,
        payment_intent=intent["id"] if intent else None,
        invoice=invoice["id"] if invoice else None,
        payment_status="paid" if intent else "no_payment_required",
        customer_details=billing_shapes.customer_details(
            customer["email"] if customer else email or session["customer_email"]
        ),
    )
