"""End to end in Chromium: the money beyond the subscription. A promotion code at
Checkout, a one-off pack, a wallet top-up that the renewal invoice uses, and an
admin's refund, against the site and the Stripe emulator running as real processes.

Reuses the site, the browser and the helpers of `test_e2e_billing.py`; each step's
screenshot is saved under test-artifacts/e2e-billing/money/. Skips when Chromium or
Playwright is missing, unless REQUIRE_SERVICES=1.
"""

import re

import pytest

from tests import test_e2e_billing as e2e

pytestmark = pytest.mark.e2e

# The browser and the processes of the billing test, under the same names.
site = e2e.site
page = e2e.page

PROMOTION_CODE = "LAUNCH20"
TOP_UP = 5000  # cents: more than a discounted Pro month, so the renewal uses it all
# Webhooks reach the site from the emulator in their own time on a loaded machine.
WEBHOOK_ATTEMPTS = 600


def _sign_up_and_confirm(page, site, steps, email) -> str:
    """Sign up, put the subscriber's customer on a test clock, confirm the address;
    the clock's id."""
    page.goto(f"{site.url}/accounts/signup/")
    page.fill("input[name=email]", email)
    page.fill("input[name=password1]", e2e.PASSWORD)
    page.fill("input[name=password2]", e2e.PASSWORD)
    page.click("form button[type=submit]")
    page.wait_for_load_state()
    steps.shot("signed-up")
    clock_id = e2e._attach_test_clock(site, email)
    e2e._confirm_email(page, site, email)
    page.wait_for_load_state()
    return clock_id


def _pay_at_checkout(page, steps, label):
    """Pay on the emulator's hosted Checkout page with its test card."""
    page.wait_for_url(re.compile(r".*/checkout/cs_\w+$"))
    steps.shot(f"{label}-checkout")
    page.click("#pay-success")
    page.wait_for_load_state()


def _cents(text) -> int:
    """An amount as the emulator's pages write it ("49.00 USD"), in cents."""
    return int(re.sub(r"\D", "", text))


def _history_row(page, kind, text):
    return page.locator(f"[data-testid=history-row][data-kind={kind}]").filter(
        has_text=text
    )


def _wallet_balance(page, base) -> str | None:
    page.goto(f"{base}subscription/")
    balance = page.locator("[data-testid=wallet-balance]")
    return balance.inner_text() if balance.count() else None


def _shot(steps, other, label):
    """A screenshot of another page (the admin's), numbered in the same sequence."""
    steps.page, customer = other, steps.page
    try:
        steps.shot(label)
    finally:
        steps.page = customer


def _admin_of_subscriber(site, email) -> tuple[str, str]:
    """A superuser to refund with; the subscriber's admin list and its pk."""
    code = (
        "from django.urls import reverse\n"
        "from apps.subscriptions.subscribers import billing_adapter\n"
        "from apps.users.models import User\n"
        f"User.objects.create_superuser('refunds@example.com', {e2e.PASSWORD!r})\n"
        f"s = billing_adapter().managed_subscriber(User.objects.get(email={email!r}))\n"
        "meta = s._meta\n"
        "print(reverse(f'admin:{meta.app_label}_{meta.model_name}_changelist'))\n"
        "print(s.pk)\n"
    )
    changelist, pk = site.manage("shell", "-c", code).strip().splitlines()[-2:]
    return changelist, pk


def test_promotion_code_one_off_wallet_and_refund_in_a_browser(site, page):
    from apps.subscriptions.money import format_amount

    page.set_default_timeout(60_000)
    steps = e2e.Steps(page, "money")
    email = "spender@example.com"
    clock_id = _sign_up_and_confirm(page, site, steps, email)
    base = e2e._billing_base(page, site)

    # 1. Pro monthly through Checkout, with the promotion code typed into its field.
    page.goto(f"{base}subscription/")
    page.click("label[for=interval-month]")
    page.locator("article[data-plan=pro] .plan-interval-month button").click()
    page.wait_for_url(re.compile(r".*/checkout/cs_\w+$"))
    full = page.locator("#due").inner_text()
    page.fill("#promotion_code", PROMOTION_CODE)
    page.click("#apply-code")
    page.wait_for_selector("#discount")
    steps.shot("checkout-with-code")
    [code] = site.stripe("GET", f"/v1/promotion_codes?code={PROMOTION_CODE}")["data"]
    coupon = code.get("coupon") or code["promotion"]["coupon"]
    if isinstance(coupon, str):
        coupon = site.stripe("GET", f"/v1/coupons/{coupon}")
    [pro_price] = [
        price
        for price in site.stripe("GET", "/v1/prices?limit=100")["data"]
        if price["product"] == "prod_demo_pro"
        and (price.get("recurring") or {}).get("interval") == "month"
        and price["active"]
    ]
    amount = pro_price["unit_amount"]
    discounted = amount - round(amount * coupon["percent_off"] / 100)
    currency = pro_price["currency"]
    assert _cents(full) == amount
    assert _cents(page.locator("#due").inner_text()) == discounted
    page.click("#pay-success")
    page.wait_for_url(re.compile(r".*/subscription/confirm/.*"))
    page.goto(f"{base}subscription/")
    steps.shot("subscribed-with-discount")
    price_shown = page.locator("[data-testid=plan-price]").inner_text()
    assert page.locator("[data-testid=plan-price] s").inner_text() == format_amount(
        amount, currency
    )
    assert format_amount(discounted, currency) in price_shown
    discount = page.locator("[data-testid=discount]").inner_text()
    assert f"{PROMOTION_CODE}: 20% off for 3 months" in discount
    assert discounted < TOP_UP

    # 2. The credit pack, from the one-off section of the plans.
    pack = page.locator("[data-testid=one-off-products] article[data-product]").filter(
        has=page.locator("[data-testid=buy-credit-pack]")
    )
    pack_price = pack.locator(".plan-price").inner_text()
    steps.shot("one-off-products")
    page.click("[data-testid=buy-credit-pack]")
    _pay_at_checkout(page, steps, "credit-pack")
    page.wait_for_url(re.compile(r".*/subscription/(\?.*)?$"))
    assert "Credit pack is paid" in page.locator(".messages").inner_text()
    row = _history_row(page, "purchase", "Credit pack")
    assert row.count() == 1
    assert row.locator("[data-testid=history-status]").inner_text().strip() == "Paid"
    assert pack_price.split()[0] in row.inner_text()
    steps.shot("credit-pack-in-history")

    # 3. A top-up of the wallet.
    page.fill("[data-testid=top-up-amount]", str(TOP_UP // 100))
    page.click("[data-testid=top-up]")
    _pay_at_checkout(page, steps, "top-up")
    page.wait_for_url(re.compile(r".*/subscription/(\?.*)?$"))
    assert "Wallet top-up is paid" in page.locator(".messages").inner_text()
    # The balance is Stripe's, as `customer.updated` brings it.
    topped_up = format_amount(TOP_UP, currency)
    assert e2e._wait_until(
        lambda: _wallet_balance(page, base), topped_up, attempts=WEBHOOK_ATTEMPTS
    ), page.locator("[data-testid=wallet]").inner_text()
    steps.shot("wallet-topped-up")

    # 4. The renewal after a month uses the balance before the card.
    [subscription] = site.stripe("GET", "/v1/subscriptions?status=all")["data"]
    e2e._advance_past_period_end(site, clock_id, subscription)
    left = format_amount(TOP_UP - discounted, currency)
    assert e2e._wait_until(
        lambda: _wallet_balance(page, base), left, attempts=WEBHOOK_ATTEMPTS
    ), page.locator("[data-testid=wallet]").inner_text()
    steps.shot("renewal-used-the-wallet")
    used = page.locator("[data-testid=wallet-transaction]").filter(
        has_text="Used by an invoice"
    )
    assert used.count() == 1
    assert f"-{format_amount(discounted, currency)}" in used.inner_text()
    [invoice] = [
        invoice
        for invoice in site.stripe(
            "GET", f"/v1/invoices?customer={subscription['customer']}"
        )["data"]
        if invoice["billing_reason"] == "subscription_cycle"
    ]
    assert invoice["total"] == discounted
    renewal = page.locator(f"[data-testid=history-row][data-id={invoice['id']}]")
    assert renewal.locator("[data-testid=history-status]").inner_text() == "Paid"
    assert format_amount(discounted, currency) in renewal.inner_text()
    invoice_url = renewal.locator("a", has_text="Invoice").get_attribute("href")
    page.goto(invoice_url)
    steps.shot("renewal-invoice")
    assert _cents(page.locator("#balance .amount").inner_text()) == discounted
    assert page.locator("#status").inner_text() == "paid"

    # 5. An admin refunds the credit pack, with a reason; the customer sees it.
    changelist, pk = _admin_of_subscriber(site, email)
    # A page of its own context: the admin's session beside the customer's.
    admin = page.context.browser.new_page()
    admin.set_default_timeout(60_000)
    admin.goto(f"{site.url}{changelist}")
    admin.fill("#id_username", "refunds@example.com")
    admin.fill("#id_password", e2e.PASSWORD)
    admin.click("input[type=submit]")
    admin.wait_for_url(re.compile(re.escape(changelist) + "$"))
    admin.check(f"input[name=_selected_action][value='{pk}']")
    admin.select_option("select[name=action]", "refund_payment")
    admin.click("button[name=index]")
    payment = admin.locator("#id_payment option", has_text="Credit pack")
    admin.select_option("#id_payment", payment.get_attribute("value"))
    admin.select_option("#id_reason", "requested_by_customer")
    admin.fill("#id_note", "Bought by mistake")
    _shot(steps, admin, "admin-refund-form")
    admin.click("input[type=submit][value='Refund a payment']")
    admin.wait_for_load_state()
    assert "Refunded a payment of" in admin.locator(".messagelist").inner_text()
    _shot(steps, admin, "admin-refunded")
    admin.close()
    [refund] = site.stripe("GET", "/v1/refunds")["data"]
    assert refund["reason"] == "requested_by_customer"
    assert refund["amount"] == _cents(pack_price.split()[0])

    page.goto(f"{base}subscription/")
    row = _history_row(page, "purchase", "Credit pack")
    status = row.locator("[data-testid=history-status]").inner_text()
    assert status.startswith("Refunded"), status
    refunded = row.locator("[data-testid=refund-status]").inner_text()
    assert refunded == f"({pack_price.split()[0]} refunded)"
    steps.shot("refund-in-history")
