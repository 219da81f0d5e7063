"""Local dj-stripe rows shaped like Stripe's objects, for tests that need no Stripe."""

import itertools
import time
from datetime import UTC, datetime

from djstripe.models import Customer, Invoice, Price, Product, Subscription

from apps.subscriptions.metadata import ProductMetadata

_ids = itertools.count(1)


def make_product(stripe_id=None, name="Plan", **data) -> Product:
    stripe_id = stripe_id or f"prod_test{next(_ids)}"
    stripe_data = {"id": stripe_id, "object": "product", "name": name, **data}
    return Product.objects.create(
        id=stripe_id, name=name, active=True, stripe_data=stripe_data
    )


def make_price(product, interval="month", unit_amount=1000, **data) -> Price:
    price_id = data.pop("id", None) or f"price_test{next(_ids)}"
    stripe_data = {
        "id": price_id,
        "object": "price",
        "type": "recurring",
        "billing_scheme": "per_unit",
        "currency": "usd",
        "unit_amount": unit_amount,
        "recurring": {"interval": interval, "interval_count": 1},
        "product": product.id,
        **data,
    }
    return Price.objects.create(
        id=price_id,
        product=product,
        active=stripe_data.get("active", True),
        currency=stripe_data["currency"],
        stripe_data=stripe_data,
    )


def make_catalogue(count: int) -> list[ProductMetadata]:
    """`count` products with a monthly and an annual price; their metadata."""
    products = []
    for index in range(count):
        product = make_product(name=f"Plan {index}")
        make_price(product, "month", 1000 + index)
        make_price(product, "year", 10000 + index)
        products.append(
            ProductMetadata(
                stripe_id=product.id,
                slug=f"plan-{index}",
                name=f"Plan {index}",
                features=("One", "Two"),
                is_default=index == 0,
            )
        )
    return products


def make_subscription(subscriber, price, status="active", quantity=1, **data):
    """A Customer and Subscription for the subscriber, linked to it."""
    customer = Customer.objects.create(
        id=f"cus_test{next(_ids)}",
        livemode=False,
        subscriber=subscriber,
        stripe_data={"object": "customer"},
    )
    period_end = int(time.time()) + 30 * 86400
    subscription_id = f"sub_test{next(_ids)}"
    stripe_data = {
        "id": subscription_id,
        "object": "subscription",
        "status": status,
        "customer": customer.id,
        "cancel_at_period_end": False,
        "cancel_at": None,
        "items": {
            "object": "list",
            "data": [
                {
                    "id": f"si_test{next(_ids)}",
                    "object": "subscription_item",
                    "quantity": quantity,
                    "current_period_end": period_end,
                    "price": dict(price.stripe_data),
                }
            ],
        },
        **data,
    }
    subscription = Subscription.objects.create(
        id=subscription_id, customer=customer, stripe_data=stripe_data
    )
    subscriber.customer = customer
    subscriber.subscription = subscription
    subscriber.save(update_fields=["customer", "subscription"])
    return subscription


def make_invoice(customer, status="paid", total=1000, **data):
    """A dj-stripe Invoice of the customer, shaped like Stripe's."""
    invoice_id = f"in_test{next(_ids)}"
    created = data.pop("created", int(time.time()))
    stripe_data = {
        "id": invoice_id,
        "object": "invoice",
        "customer": customer.id,
        "status": status,
        "number": f"TEST-{next(_ids):04d}",
        "currency": "usd",
        "created": created,
        "total": total,
        "subtotal": total,
        "amount_paid": total if status == "paid" else 0,
        "billing_reason": "subscription_cycle",
        "discounts": [],
        "total_discount_amounts": [],
        "hosted_invoice_url": f"https://invoice.test/{invoice_id}",
        "invoice_pdf": f"https://invoice.test/{invoice_id}/pdf",
        "lines": {"object": "list", "data": []},
        **data,
    }
    return Invoice.objects.create(
        id=invoice_id,
        customer=customer,
        livemode=False,
        created=datetime.fromtimestamp(created, tz=UTC),
        stripe_data=stripe_data,
    )
