"""The hosted pages over HTTP: Checkout's promotion code field and payment mode,
the invoice page with its discounts and balance, the invoice PDF and receipts."""

import json

import pytest

from .conftest import http


def api(server, method, path, body=None):
    status, _, text = http(method, server.url + path, body)
    assert status == 200, text
    return json.loads(text)


@pytest.fixture
def product(server):
    return api(server, "POST", "/v1/products", "name=Pro")


@pytest.fixture
def monthly(server, product):
    return api(
        server,
        "POST",
        "/v1/prices",
        f"product={product['id']}&currency=usd&unit_amount=2000&recurring[interval]=month",
    )


@pytest.fixture
def code(server):
    coupon = api(
        server, "POST", "/v1/coupons", "percent_off=25&duration=forever&name=Quarter"
    )
    return api(
        server,
        "POST",
        "/v1/promotion_codes",
        f"promotion[type]=coupon&promotion[coupon]={coupon['id']}&code=QUARTER",
    )


def open_session(server, price, mode="subscription", extra=""):
    return api(
        server,
        "POST",
        "/v1/checkout/sessions",
        f"mode={mode}&line_items[0][price]={price['id']}&line_items[0][quantity]=1"
        f"&success_url=https://site.test/done{extra}",
    )


def test_the_promotion_code_field_applies_a_code(server, monthly, code):
    session = open_session(server, monthly, extra="&allow_promotion_codes=true")
    _, _, page = http("GET", session["url"], key=None)
    assert 'name="code"' in page and "Due today" in page

    status, headers, _ = http(
        "POST", session["url"] + "/promotion_code", "code=quarter", key=None
    )

    assert (status, headers["Location"]) == (303, f"/checkout/{session['id']}")
    _, _, page = http("GET", session["url"], key=None)
    assert 'id="discount"' in page and "15.00 USD" in page
    assert 'id="remove-code"' in page
    shown = api(server, "GET", f"/v1/checkout/sessions/{session['id']}")
    assert shown["amount_total"] == 1500


def test_an_invalid_code_is_refused_on_the_page(server, monthly, code):
    session = open_session(server, monthly, extra="&allow_promotion_codes=true")

    status, _, page = http(
        "POST", session["url"] + "/promotion_code", "code=WRONG", key=None
    )

    assert status == 400
    assert "The promotion code WRONG is not valid." in page
    shown = api(server, "GET", f"/v1/checkout/sessions/{session['id']}")
    assert shown["amount_total"] == 2000


def test_no_code_field_unless_the_session_allows_codes(server, monthly):
    session = open_session(server, monthly)
    _, _, page = http("GET", session["url"], key=None)
    assert 'name="code"' not in page


def test_a_one_off_purchase_is_paid_on_the_page(server, product):
    price = api(
        server,
        "POST",
        "/v1/prices",
        f"product={product['id']}&currency=usd&unit_amount=4900",
    )
    session = open_session(server, price, mode="payment")
    _, _, page = http("GET", session["url"], key=None)
    assert "<h1>Pay</h1>" in page and "one-time purchase" in page

    status, _, _ = http(
        "POST", session["url"] + "/pay", "card=4242424242424242", key=None
    )

    assert status == 303
    done = api(server, "GET", f"/v1/checkout/sessions/{session['id']}")
    assert (done["payment_status"], done["status"]) == ("paid", "complete")


def test_the_invoice_page_pdf_and_receipt(server, monthly, code):
    customer = api(
        server,
        "POST",
        "/v1/customers",
        "email=i@example.com&payment_method=pm_card_visa",
    )
    api(
        server,
        "POST",
        f"/v1/customers/{customer['id']}/balance_transactions",
        "amount=-300&currency=usd",
    )
    sub = api(
        server,
        "POST",
        "/v1/subscriptions",
        f"customer={customer['id']}&items[0][price]={monthly['id']}"
        f"&discounts[0][promotion_code]={code['id']}",
    )
    invoice = api(server, "GET", f"/v1/invoices/{sub['latest_invoice']}")

    status, _, page = http("GET", invoice["hosted_invoice_url"], key=None)

    assert status == 200
    assert "Quarter (QUARTER)" in page and "-5.00 USD" in page
    assert 'id="balance"' in page and "-3.00 USD" in page
    assert "Amount paid" in page and "12.00 USD" in page
    status, headers, pdf = http("GET", invoice["invoice_pdf"], key=None)
    assert (status, headers["Content-Type"]) == (200, "application/pdf")
    assert pdf.startswith("%PDF-1.4") and pdf.rstrip().endswith("%%EOF")
    assert "Quarter \\(QUARTER\\)" in pdf and "Amount paid    12.00 USD" in pdf

    payment = api(server, "GET", f"/v1/invoice_payments?invoice={invoice['id']}")
    intent = payment["data"][0]["payment"]["payment_intent"]
    charge_id = api(server, "GET", f"/v1/payment_intents/{intent}")["latest_charge"]
    assert f"/receipt/{charge_id}" in page
    api(server, "POST", "/v1/refunds", f"charge={charge_id}&amount=200")
    charge = api(server, "GET", f"/v1/charges/{charge_id}")
    status, _, receipt = http("GET", charge["receipt_url"], key=None)
    assert status == 200
    assert "Visa ending in 4242" in receipt and "-2.00 USD" in receipt
    assert "Net" in receipt and "10.00 USD" in receipt
    assert http("GET", server.url + "/receipt/ch_nope", key=None)[0] == 404


def test_invoice_payments_are_found_by_their_payment_intent(server, monthly):
    customer = api(
        server,
        "POST",
        "/v1/customers",
        "email=p@example.com&payment_method=pm_card_visa",
    )
    invoices = []
    for _ in range(2):
        sub = api(
            server,
            "POST",
            "/v1/subscriptions",
            f"customer={customer['id']}&items[0][price]={monthly['id']}",
        )
        invoices.append(sub["latest_invoice"])
    first = api(server, "GET", f"/v1/invoice_payments?invoice={invoices[0]}")
    intent = first["data"][0]["payment"]["payment_intent"]

    found = api(
        server,
        "GET",
        "/v1/invoice_payments?payment[type]=payment_intent"
        f"&payment[payment_intent]={intent}",
    )

    assert [p["invoice"] for p in found["data"]] == [invoices[0]]
