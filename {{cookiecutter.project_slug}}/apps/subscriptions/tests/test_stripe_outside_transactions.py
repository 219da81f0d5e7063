"""Pages that call Stripe hold no transaction open while Stripe answers: under
ATOMIC_REQUESTS a page waiting on Stripe kept the rows it wrote locked, and on
SQLite the whole database's write lock, for as long as Stripe took."""

import pytest
from django.db import connection

# Not inside a test's own transaction, so that the pages' transactions are seen.
pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def open_transactions(stripe_emulator, monkeypatch):
    """Whether a transaction was open at each Stripe call, in order."""
    seen = []
    request = stripe_emulator.client.request

    def recording(*args, **kwargs):
        seen.append(connection.in_atomic_block)
        return request(*args, **kwargs)

    monkeypatch.setattr(stripe_emulator.client, "request", recording)
    return seen


def test_billing_pages_call_stripe_outside_a_transaction(
    billing_client, urls, stripe_catalogue, open_transactions
):
    price = next(iter(stripe_catalogue.values()))
    open_transactions.clear()

    checkout = billing_client.post(urls("checkout"), {"price_id": price.id})
    portal = billing_client.post(urls("portal"))
    card = billing_client.get(urls("update_card"))

    assert [r.status_code for r in (checkout, portal, card)] == [302, 302, 302]
    assert len(open_transactions) >= 3
    assert not any(open_transactions)
