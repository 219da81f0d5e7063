"""The billing history on the subscription page: invoices and one-off payments,
newest first, paginated, from local rows in the same queries at any size."""

import itertools
from datetime import UTC, datetime, timedelta

import pytest
import stripe
from django.db import connection
from django.test.utils import CaptureQueriesContext
from djstripe.models import Price

from apps.subscriptions.history import billing_history
from apps.subscriptions.models import PaymentRefund, Purchase
from apps.subscriptions.stripe_client import stripe_options
from apps.subscriptions.tests.factories import make_invoice, make_subscription

pytestmark = pytest.mark.django_db

_sessions = itertools.count(1)
START = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.fixture
def customer(subscriber, catalogue):
    make_subscription(subscriber, Price.objects.first())
    subscriber.refresh_from_db()
    return subscriber.customer


def day(n) -> int:
    return int((START + timedelta(days=n)).timestamp())


def make_purchase(customer, n, **fields):
    return Purchase.objects.create(
        checkout_session_id=f"cs_test{next(_sessions)}",
        customer=customer,
        kind=Purchase.Kind.ONE_TIME,
        product_id="prod_pack",
        price_id="price_pack",
        description="Credit pack",
        amount=2500,
        currency="usd",
        receipt_url="https://receipt.test/1",
        created=START + timedelta(days=n),
        **fields,
    )


def rows(page: str) -> int:
    return page.count('data-testid="history-row"')


def test_newest_first_invoices_and_purchases_together(customer, subscriber):
    old = make_invoice(customer, created=day(1))
    pack = make_purchase(customer, 2)
    new = make_invoice(customer, created=day(3))
    entries = list(billing_history(subscriber, 1))
    assert [e.id for e in entries] == [new.id, pack.checkout_session_id, old.id]
    assert entries[0].url == new.stripe_data["hosted_invoice_url"]
    assert entries[0].pdf_url == new.stripe_data["invoice_pdf"]
    assert entries[1].url == pack.receipt_url
    assert (entries[1].amount, entries[1].status) == ("$25.00", "Paid")


def test_drafts_are_left_out(customer, subscriber):
    make_invoice(customer, status="draft")
    shown = make_invoice(customer, status="open")
    entries = list(billing_history(subscriber, 1))
    assert [(e.id, e.status) for e in entries] == [(shown.id, "Open")]


def test_pages_hold_the_setting_each(
    customer, subscriber, billing_client, urls, settings
):
    settings.SUBSCRIPTIONS_BILLING_HISTORY_PER_PAGE = 2
    invoices = [make_invoice(customer, created=day(n)) for n in range(5)]
    first = billing_client.get(urls("subscription")).content.decode()
    assert rows(first) == 2
    assert invoices[4].id in first and invoices[3].id in first
    assert 'data-testid="history-older"' in first
    last = billing_client.get(urls("subscription") + "?page=3").content.decode()
    assert rows(last) == 1 and invoices[0].id in last
    # A page out of range or not a number shows the nearest one.
    assert rows(billing_client.get(urls("subscription") + "?page=x").content.decode())


def test_refunds_show_on_the_history(customer, subscriber):
    invoice = make_invoice(customer, total=4900, created=day(1))
    PaymentRefund.objects.create(
        refund_id="re_1",
        customer=customer,
        charge_id="ch_1",
        invoice_id=invoice.id,
        amount=4900,
        currency="usd",
        created=START,
    )
    make_purchase(customer, 2, amount_refunded=1000)
    pack, paid = billing_history(subscriber, 1)
    assert (pack.status, pack.refunded) == ("Partly refunded", "$10.00")
    assert (paid.status, paid.refunded) == ("Refunded", "$49.00")


def test_the_discount_column_sums_what_the_invoice_took_off(customer, subscriber):
    make_invoice(
        customer,
        total=3920,
        total_discount_amounts=[{"amount": 980, "discount": "di_gone"}],
    )
    [entry] = billing_history(subscriber, 1)
    assert entry.discount.startswith("-$9.80")


def test_the_query_count_does_not_grow_with_the_invoices(
    customer, subscriber, billing_client, urls
):
    def count_queries() -> tuple[int, int]:
        with CaptureQueriesContext(connection) as read:
            list(billing_history(subscriber, 1))
        with CaptureQueriesContext(connection) as page:
            response = billing_client.get(urls("subscription"))
        assert response.status_code == 200
        return len(read.captured_queries), len(page.captured_queries)

    billing_client.get(urls("subscription"))  # the log-in's session is saved once
    for n in range(3):
        make_invoice(customer, created=day(n))
    make_purchase(customer, 1)
    small = count_queries()
    for n in range(3, 40):
        make_invoice(customer, created=day(n))
        make_purchase(customer, n)
    assert count_queries() == small


def test_members_of_the_page_read_it_against_the_emulator(
    billing, pro, billing_client, urls, stripe_catalogue
):
    invoice = stripe.Invoice.retrieve(pro["latest_invoice"], **stripe_options())
    page = billing_client.get(urls("subscription")).content.decode()
    assert rows(page) == 1
    assert invoice["hosted_invoice_url"] in page
    assert invoice["invoice_pdf"] in page
    assert invoice["number"] in page
