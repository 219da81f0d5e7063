"""End to end in Chromium: sign up, subscribe, change plan and cancel; a failed renewal
and the card updated in the portal; against the site and the Stripe emulator running
as real processes on loopback.

Each step's screenshot is saved under test-artifacts/e2e-billing/. Skips when
Chromium or Playwright is missing, unless REQUIRE_SERVICES=1.
"""

import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from tests.processes import (
    EMULATOR_MISSING,
    PROJECT_DIR,
    Processes,
    emulator_installed,
    free_port,
    require,
)

pytestmark = pytest.mark.e2e

ARTIFACTS = PROJECT_DIR / "test-artifacts" / "e2e-billing"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SECRET_KEY = "sk_test_" + "e2e0" * 8
PASSWORD = "a-long-unusual-passphrase"


class Site:
    """The emulator and the site as processes, and helpers to reach them."""

    def __init__(self, workdir: Path):
        self.workdir = workdir
        self.emulator_port, self.site_port = free_port(), free_port()
        self.emulator_url = f"http://127.0.0.1:{self.emulator_port}"
        self.url = f"http://127.0.0.1:{self.site_port}"
        self.site_log = workdir / "site.log"
        self.env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "config.settings.local",
            "DATABASE_URL": f"sqlite:///{workdir / 'db.sqlite3'}",
            "STRIPE_EMULATOR": "1",
            "STRIPE_EMULATOR_URL": self.emulator_url,
            "STRIPE_TEST_SECRET_KEY": SECRET_KEY,
            "ACCOUNT_EMAIL_VERIFICATION": "mandatory",
            "DJANGO_EMAIL_BACKEND": "django.core.mail.backends.console.EmailBackend",
            # Billing e-mails are queued for a worker (none runs here): in the tmp dir.
            "CELERY_DATA_DIR": str(workdir / "celery"),
            "SITE_URL": self.url,
            "PYTHONUNBUFFERED": "1",
        }
        self.processes = Processes(workdir)

    def manage(self, *args) -> str:
        result = subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=PROJECT_DIR,
            env=self.env,
            capture_output=True,
            text=True,
            check=False,
        )
        assert result.returncode == 0, result.stdout + result.stderr
        return result.stdout

    def start(self):
        self.processes.start(
            "emulator",
            [
                sys.executable,
                "-m",
                "stripe_emulator",
                "--port",
                str(self.emulator_port),
            ],
            self.env,
            port=self.emulator_port,
        )
        self.manage("migrate", "--noinput")
        self.manage("bootstrap_subscriptions", "--create-demo-products")
        self.manage("register_webhook_endpoint", "--base-url", self.url)
        self.processes.start(
            "site",
            [
                sys.executable,
                "manage.py",
                "runserver",
                f"127.0.0.1:{self.site_port}",
                "--noreload",
            ],
            self.env,
            port=self.site_port,
        )

    def stop(self):
        self.processes.stop_all()

    def stripe(self, method, path, **params):
        """Call the emulator's API as Stripe's clients do."""
        data = urllib.parse.urlencode(params).encode() if params else None
        request = urllib.request.Request(
            f"{self.emulator_url}{path}",
            data=data if method == "POST" else None,
            method=method,
            headers={"Authorization": f"Bearer {SECRET_KEY}"},
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.loads(response.read())

    def confirmation_link(self, email) -> str:
        for _ in range(100):
            found = re.findall(
                r"http://\S+/accounts/confirm-email/\S+/", self.site_log.read_text()
            )
            if found:
                return found[-1]
            time.sleep(0.1)
        raise AssertionError(f"no confirmation e-mail for {email}")


@pytest.fixture
def site(tmp_path):
    require(emulator_installed(), EMULATOR_MISSING)
    require(Path(CHROMIUM).exists(), f"{CHROMIUM} is not installed")
    require(
        importlib.util.find_spec("playwright") is not None,
        "playwright is not installed",
    )
    site = Site(tmp_path)
    try:
        site.start()
        yield site
    finally:
        site.stop()


@pytest.fixture
def page():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS
        )
        page = browser.new_page()
        page.set_default_timeout(20_000)
        yield page
        browser.close()


class Steps:
    """Numbered screenshots, one per step."""

    def __init__(self, page, name):
        self.page, self.count = page, 0
        self.folder = ARTIFACTS / name
        shutil.rmtree(self.folder, ignore_errors=True)
        self.folder.mkdir(parents=True)

    def shot(self, label):
        self.count += 1
        path = self.folder / f"{self.count:02d}-{label}.png"
        self.page.screenshot(path=path, full_page=True)


def _choose_a_plan_and_sign_up(page, site, steps, email, plan):
    """A visitor picks the annual `plan` on the public pricing page and signs up."""
    page.goto(f"{site.url}/")
    steps.shot("landing")
    page.locator("nav a", has_text="Pricing").click()
    page.wait_for_url(re.compile(r".*/pricing/$"))
    steps.shot("public-pricing")
    page.click("label[for=interval-year]")
    card = page.locator(f"article[data-plan={plan}]")
    assert card.locator(".plan-interval-year [data-testid=saving]").is_visible()
    steps.shot("public-pricing-annual")
    card.locator(".plan-action.plan-interval-year a").click()
    page.wait_for_url(re.compile(r".*/accounts/signup/\?next=.*"))
    page.fill("input[name=email]", email)
    page.fill("input[name=password1]", PASSWORD)
    page.fill("input[name=password2]", PASSWORD)
    steps.shot("sign-up")
    page.click("form button[type=submit]")
    page.wait_for_load_state()
    steps.shot("verify-your-email")


def _confirm_email(page, site, email):
    page.goto(site.confirmation_link(email))
    page.click("form button[type=submit]")


def _billing_base(page, site) -> str:
    """Where the billing pages live: the navigation's Subscription link, less its end."""
    page.goto(f"{site.url}/dashboard/")
    link = page.locator("nav a", has_text="Subscription").get_attribute("href")
    return site.url + link.removesuffix("subscription/")


def _attach_test_clock(site, email) -> str:
    """Give the subscriber a Stripe customer on a test clock, so time can be moved."""
    code = (
        "import time, stripe\n"
        "from djstripe.models import Customer\n"
        "from apps.subscriptions.stripe_client import stripe_options\n"
        "from apps.subscriptions.subscribers import billing_adapter\n"
        "from apps.users.models import User\n"
        f"user = User.objects.get(email={email!r})\n"
        "s = billing_adapter().managed_subscriber(user)\n"
        "clock = stripe.test_helpers.TestClock.create(\n"
        "    frozen_time=int(time.time()), **stripe_options())\n"
        "data = stripe.Customer.create(email=user.email, test_clock=clock.id,\n"
        "    metadata={'djstripe_subscriber': str(s.pk)}, **stripe_options())\n"
        "s.customer = Customer.sync_from_stripe_data(data)\n"
        "s.save()\n"
        "print(clock.id)\n"
    )
    return site.manage("shell", "-c", code).strip().splitlines()[-1]


def _advance_past_period_end(site, clock_id, subscription):
    """Move the test clock an hour past the end of the subscription's period."""
    period_end = subscription["items"]["data"][0]["current_period_end"]
    site.stripe(
        "POST",
        f"/v1/test_helpers/test_clocks/{clock_id}/advance",
        frozen_time=period_end + 3600,
    )


def _upgrade(page, plan):
    page.click("label[for=interval-year]")
    page.locator(f"article[data-plan={plan}] .plan-interval-year button").click()
    page.wait_for_url(re.compile(r".*/checkout/.*"))


def _pro_page_status(page, base) -> str:
    page.goto(f"{base}subscription/demo/pro/")
    return "redirected" if page.url.rstrip("/").endswith("/subscription") else "open"


def _wait_until(check, expected, attempts=60):
    for _ in range(attempts):
        if check() == expected:
            return True
        time.sleep(0.5)
    return False


def _style(locator, prop) -> str:
    return locator.evaluate(f"e => getComputedStyle(e).{prop}")


def _assert_plan_cards_look_right(page):
    """The buttons of a row of plans sit level; the "Recommended" badge is styled."""
    buttons = page.locator(".plan-action.plan-interval-year button")
    tops = [buttons.nth(i).bounding_box()["y"] for i in range(buttons.count())]
    # Level to the pixel: sub-pixel layout may round neighbours apart by one.
    assert len(tops) > 1 and max(tops) - min(tops) <= 1.5, tops
    badge = page.locator(".badge-recommended").first
    assert _style(badge, "backgroundColor") not in ("rgba(0, 0, 0, 0)", "transparent")
    assert _style(badge, "borderTopLeftRadius") != "0px"


def _assert_summary_is_styled(page):
    """The subscription summary is laid out as the site's cards, not a bare list."""
    assert _style(page.locator(".summary-details"), "display") == "grid"
    assert _style(page.locator(".summary"), "borderTopWidth") != "0px"


def test_subscribe_change_plan_and_cancel_in_a_browser(site, page):
    steps = Steps(page, "subscription-lifecycle")
    email = "founder@example.com"
    _choose_a_plan_and_sign_up(page, site, steps, email, "pro")
    clock_id = _attach_test_clock(site, email)

    # Confirming the address carries on to Checkout for the plan chosen on /pricing/.
    _confirm_email(page, site, email)
    page.wait_for_url(re.compile(r".*/checkout/cs_\w+$"))
    steps.shot("checkout-from-pricing")
    page.click("#cancel")
    page.wait_for_url(re.compile(r".*/subscription/$"))
    assert "nothing was charged" in page.locator(".messages").inner_text()
    steps.shot("checkout-cancelled")
    base = _billing_base(page, site)

    page.goto(f"{base}subscription/")
    steps.shot("pricing-monthly")
    page.click("label[for=interval-year]")
    pro = page.locator("article[data-plan=pro]")
    assert pro.locator(".plan-interval-year .plan-price").is_visible()
    assert not pro.locator(".plan-interval-month .plan-price").is_visible()
    assert pro.locator(".plan-interval-year button").inner_text() == "Subscribe to Pro"
    _assert_plan_cards_look_right(page)
    steps.shot("pricing-annual")

    # A declined card leaves the subscriber unsubscribed.
    _upgrade(page, "pro")
    steps.shot("checkout")
    page.click("#pay-decline")
    page.wait_for_load_state()
    steps.shot("card-declined")
    page.goto(f"{base}subscription/")
    assert page.locator("article[data-plan=pro]").count() == 1
    assert _pro_page_status(page, base) == "redirected"

    _upgrade(page, "pro")
    page.click("#pay-success")
    page.wait_for_url(re.compile(r".*/subscription/confirm/.*"))
    steps.shot("confirmed")
    assert page.locator("[data-testid=confirmed-plan]").inner_text() == "Pro"
    assert "Active" in page.locator("[data-testid=plan-status]").inner_text()
    # The card just paid with (the emulator's 4242 test card).
    assert "ending 4242" in page.locator("[data-testid=payment-method]").inner_text()
    _assert_summary_is_styled(page)
    assert _pro_page_status(page, base) == "open"
    steps.shot("pro-page-open")

    # The subscription page: the plan, and the others offered as a switch.
    page.goto(f"{base}subscription/")
    steps.shot("subscription")
    actions = ".plan-action.plan-interval-year"
    current = page.locator(f"article[data-plan=pro] {actions}").inner_text()
    assert current == "Your current plan"
    switch = page.locator(f"article[data-plan=starter] {actions} button").inner_text()
    assert switch == "Switch to Starter"

    # Portal: switch to Starter and come back.
    page.goto(f"{base}subscription/")
    page.click("text=Manage billing")
    page.wait_for_url(re.compile(r".*/portal/.*"))
    steps.shot("portal")
    option = page.locator("select[name=price] option", has_text="Starter").filter(
        has_text="year"
    )
    page.select_option("select[name=price]", value=option.get_attribute("value"))
    page.click("text=Switch plan")
    page.wait_for_load_state()
    steps.shot("portal-switched")
    page.click("#return")
    page.wait_for_url(re.compile(r".*/subscription/$"))
    steps.shot("back-on-starter")
    assert page.locator("[data-testid=plan-name]").inner_text() == "Starter"
    assert _pro_page_status(page, base) == "redirected"
    steps.shot("pro-page-redirects")

    # Portal: cancel at period end.
    page.goto(f"{base}subscription/")
    page.click("text=Manage billing")
    page.wait_for_url(re.compile(r".*/portal/.*"))
    page.click("text=Cancel at period end")
    page.wait_for_load_state()
    page.click("#return")
    page.wait_for_url(re.compile(r".*/subscription/$"))
    steps.shot("cancels-at-period-end")
    assert page.locator("[data-testid=plan-ends]").count() == 1

    # Move the test clock past the period end: the subscription ends.
    [subscription] = site.stripe("GET", "/v1/subscriptions?status=all")["data"]
    _advance_past_period_end(site, clock_id, subscription)
    assert _wait_until(lambda: _pro_page_status(page, base), "redirected")
    page.goto(f"{base}subscription/demo/subscribers/")
    assert page.url.rstrip("/").endswith("/subscription")
    steps.shot("ended")
    assert page.locator("article[data-plan=pro]").count() == 1
    ended = page.locator("[data-testid=ended-notice]").inner_text()
    assert "Your Starter subscription ended on" in ended


def _make_later_charges_fail(site, subscription):
    """Give the customer a card that is accepted, then declines every charge, as
    its default and the subscription's."""
    customer = subscription["customer"]
    card = site.stripe(
        "POST",
        "/v1/payment_methods/pm_card_chargeCustomerFail/attach",
        customer=customer,
    )
    site.stripe(
        "POST",
        f"/v1/customers/{customer}",
        **{"invoice_settings[default_payment_method]": card["id"]},
    )
    if subscription["default_payment_method"]:
        site.stripe(
            "POST",
            f"/v1/subscriptions/{subscription['id']}",
            default_payment_method=card["id"],
        )


def _banner(page, url) -> str | None:
    page.goto(url)
    alert = page.locator("[data-billing-alert]")
    return alert.get_attribute("data-billing-alert") if alert.count() else None


def test_a_failed_renewal_shows_a_banner_until_the_card_is_updated(site, page):
    steps = Steps(page, "failed-renewal")
    email = "dunning@example.com"
    _choose_a_plan_and_sign_up(page, site, steps, email, "pro")
    clock_id = _attach_test_clock(site, email)
    _confirm_email(page, site, email)
    page.wait_for_url(re.compile(r".*/checkout/cs_\w+$"))
    page.click("#pay-success")
    page.wait_for_url(re.compile(r".*/subscription/confirm/.*"))
    base = _billing_base(page, site)
    assert _banner(page, f"{base}subscription/") is None
    steps.shot("subscribed")

    # The renewal at the period end is declined: the subscription is past due.
    [subscription] = site.stripe("GET", "/v1/subscriptions?status=all")["data"]
    _make_later_charges_fail(site, subscription)
    _advance_past_period_end(site, clock_id, subscription)
    assert _wait_until(lambda: _banner(page, f"{base}subscription/"), "past_due")
    steps.shot("banner-on-the-subscription-page")
    assert page.locator("[data-testid=payment-overdue]").is_visible()
    assert _banner(page, f"{site.url}/dashboard/") == "past_due"
    steps.shot("banner-on-the-dashboard")
    # Still within the grace period: paid pages stay open.
    assert _pro_page_status(page, base) == "open"

    # The banner's link opens the portal; a working card pays what is owed.
    page.goto(f"{base}subscription/")
    page.click("[data-testid=billing-alert-link]")
    page.wait_for_url(re.compile(r".*/portal/.*"))
    steps.shot("portal")
    page.click("#card-success")
    page.wait_for_load_state()
    steps.shot("portal-card-updated")
    page.click("#return")
    page.wait_for_url(re.compile(r".*/subscription/$"))
    assert _wait_until(lambda: _banner(page, f"{base}subscription/"), None)
    steps.shot("banner-gone")
    assert "Active" in page.locator("[data-testid=plan-status]").inner_text()
    assert _banner(page, f"{site.url}/dashboard/") is None
