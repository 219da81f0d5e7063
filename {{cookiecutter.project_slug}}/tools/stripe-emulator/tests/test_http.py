"""The HTTP door: API over sockets, hosted pages, faults, signed webhooks, the state file."""

import json
import socket
import urllib.error
import urllib.request

import pytest
import stripe

from stripe_emulator.server import EmulatorServer
from stripe_emulator.webhooks import sign

from .conftest import KEY, http, wait_for


def api(server, method, path, body=None):
    status, _, text = http(method, server.url + path, body)
    return status, json.loads(text)


def test_the_api_answers_over_http(server):
    status, headers, text = http("GET", server.url + "/v1/account")
    assert status == 200
    assert headers["Content-Type"] == "application/json"
    assert json.loads(text)["object"] == "account"


def test_a_wrong_key_is_401_over_http(server):
    status, _, text = http("GET", server.url + "/v1/account", key="sk_live_nope")
    assert status == 401
    assert json.loads(text)["error"]["type"] == "invalid_request_error"


def test_stripe_python_works_against_the_http_door(server, monkeypatch):
    monkeypatch.setattr(stripe, "api_base", server.url)
    monkeypatch.setattr(stripe, "default_http_client", stripe.new_default_http_client())
    customer = stripe.Customer.create(email="net@example.com", api_key=KEY)
    assert stripe.Customer.retrieve(customer.id, api_key=KEY).email == "net@example.com"


def test_checkout_page_pays_with_the_success_card(server, session):
    status, _, page = http("GET", session["url"], key=None)
    assert status == 200
    assert "4242 4242 4242 4242" in page
    assert "<link" not in page and "<script" not in page

    status, headers, _ = http(
        "POST", session["url"] + "/pay", "card=4242424242424242", key=None
    )

    assert status == 303
    assert headers["Location"] == f"https://site.test/done?session_id={session['id']}"
    _, done = api(server, "GET", f"/v1/checkout/sessions/{session['id']}")
    assert done["status"] == "complete"
    _, sub = api(server, "GET", f"/v1/subscriptions/{done['subscription']}")
    assert sub["status"] == "active"


def test_checkout_page_shows_a_decline_and_creates_nothing(server, session):
    status, _, page = http(
        "POST", session["url"] + "/pay", "card=4000000000000002", key=None
    )
    assert status == 402
    assert "Your card was declined." in page
    _, customers = api(server, "GET", "/v1/customers")
    _, subs = api(server, "GET", "/v1/subscriptions?status=all")
    assert customers["data"] == subs["data"] == []
    _, still = api(server, "GET", f"/v1/checkout/sessions/{session['id']}")
    assert still["status"] == "open"


def test_checkout_page_links_back_to_the_cancel_url(server, session):
    _, _, page = http("GET", session["url"], key=None)
    assert 'href="https://site.test/pricing"' in page


def test_checkout_with_a_trial_starts_trialing(server, plan):
    _, created = api(
        server,
        "POST",
        "/v1/checkout/sessions",
        f"mode=subscription&line_items[0][price]={plan['id']}&line_items[0][quantity]=1"
        "&success_url=https://site.test/ok&subscription_data[trial_period_days]=7",
    )
    http(
        "POST",
        created["url"] + "/pay",
        "card=4242424242424242&email=t@example.com",
        key=None,
    )
    _, done = api(
        server, "GET", f"/v1/checkout/sessions/{created['id']}?expand[]=subscription"
    )
    assert done["subscription"]["status"] == "trialing"
    assert done["payment_status"] == "no_payment_required"


def portal_for(server, customer_id):
    _, portal = api(
        server,
        "POST",
        "/v1/billing_portal/sessions",
        f"customer={customer_id}&return_url=https://site.test/billing",
    )
    return portal


def test_portal_page_changes_the_subscription(server, session, plan):
    http("POST", session["url"] + "/pay", "card=4242424242424242", key=None)
    _, done = api(server, "GET", f"/v1/checkout/sessions/{session['id']}")
    _, other = api(
        server,
        "POST",
        "/v1/prices",
        f"product={plan['product']}&currency=usd&unit_amount=9000&recurring[interval]=year",
    )
    portal = portal_for(server, done["customer"])
    base = f"{portal['url']}/subscriptions/{done['subscription']}"

    status, _, page = http("GET", portal["url"], key=None)
    assert status == 200
    assert 'href="https://site.test/billing"' in page
    assert http("POST", base + "/set_quantity", "quantity=5", key=None)[0] == 303
    assert (
        http("POST", base + "/switch_price", f"price={other['id']}", key=None)[0] == 303
    )
    assert http("POST", base + "/cancel_at_period_end", "", key=None)[0] == 303
    _, sub = api(server, "GET", f"/v1/subscriptions/{done['subscription']}")
    item = sub["items"]["data"][0]
    assert (item["quantity"], item["price"]["id"], sub["cancel_at_period_end"]) == (
        5,
        other["id"],
        True,
    )
    http("POST", base + "/resume", "", key=None)
    _, sub = api(server, "GET", f"/v1/subscriptions/{done['subscription']}")
    assert sub["cancel_at_period_end"] is False
    http("POST", base + "/cancel_now", "", key=None)
    _, sub = api(server, "GET", f"/v1/subscriptions/{done['subscription']}")
    assert sub["status"] == "canceled"


def test_portal_refuses_another_customers_subscription(server, session):
    http("POST", session["url"] + "/pay", "card=4242424242424242", key=None)
    _, done = api(server, "GET", f"/v1/checkout/sessions/{session['id']}")
    _, stranger = api(server, "POST", "/v1/customers", "email=s@example.com")
    portal = portal_for(server, stranger["id"])
    url = f"{portal['url']}/subscriptions/{done['subscription']}/cancel_now"
    assert http("POST", url, "", key=None)[0] == 404


def test_unknown_pages_are_404(server):
    assert http("GET", server.url + "/checkout/cs_test_nope", key=None)[0] == 404
    assert http("GET", server.url + "/portal/bps_nope", key=None)[0] == 404


@pytest.mark.parametrize(("status", "expected"), [("500", 500), ("429", 429)])
def test_fault_control_route_fails_the_next_requests(server, status, expected):
    http(
        "POST",
        server.url + "/_emulator/faults",
        f"path=/v1/account&times=2&status={status}",
    )
    assert [http("GET", server.url + "/v1/account")[0] for _ in range(3)] == [
        expected,
        expected,
        200,
    ]


def test_timeout_fault_hangs_past_the_client_timeout(server):
    http(
        "POST",
        server.url + "/_emulator/faults",
        "path=/v1/customers/*&status=timeout&hang_seconds=1",
    )
    with pytest.raises((TimeoutError, socket.timeout, urllib.error.URLError)):
        http("GET", server.url + "/v1/customers/cus_x", timeout=0.2)
    assert http("GET", server.url + "/v1/customers/cus_x")[0] == 404


def endpoint_for(server, url, events="*"):
    _, endpoint = api(
        server, "POST", "/v1/webhook_endpoints", f"url={url}&enabled_events[]={events}"
    )
    return endpoint


def test_webhooks_are_signed_and_delivered(server, receiver):
    hooks = receiver()
    endpoint = endpoint_for(server, hooks.url)
    api(server, "POST", "/v1/customers", "email=w@example.com")
    wait_for(lambda: hooks.posts)
    headers, body = hooks.posts[0]
    payload = body.decode()
    timestamp = headers["Stripe-Signature"].split(",")[0][2:]
    assert headers["Stripe-Signature"] == sign(payload, endpoint["secret"], timestamp)
    stripe.WebhookSignature.verify_header(
        payload, headers["Stripe-Signature"], endpoint["secret"], 300
    )
    assert json.loads(payload)["type"] == "customer.created"


def test_only_enabled_events_are_sent(server, receiver):
    hooks = receiver()
    endpoint_for(server, hooks.url, events="product.created")
    api(server, "POST", "/v1/customers", "email=w@example.com")
    api(server, "POST", "/v1/products", "name=P")
    wait_for(lambda: hooks.posts)
    _, deliveries = api(server, "GET", "/_emulator/deliveries")
    assert len(deliveries["deliveries"]) == 1


def test_failed_deliveries_are_retried_and_every_attempt_recorded(server, receiver):
    hooks = receiver(fail_first=2)
    endpoint_for(server, hooks.url)
    api(server, "POST", "/v1/customers", "email=r@example.com")

    def delivered():
        return api(server, "GET", "/_emulator/deliveries")[1]["deliveries"][0]

    wait_for(lambda: delivered()["status"] == "succeeded")
    assert [a["status_code"] for a in delivered()["attempts"]] == [500, 500, 200]
    _, event = api(server, "GET", f"/v1/events/{delivered()['event']}")
    assert event["pending_webhooks"] == 0


def test_a_delivery_that_never_succeeds_is_marked_failed(server):
    endpoint_for(server, "http://127.0.0.1:9/unreachable")
    api(server, "POST", "/v1/customers", "email=r@example.com")

    def delivery():
        return api(server, "GET", "/_emulator/deliveries")[1]["deliveries"][0]

    wait_for(lambda: delivery()["status"] == "failed")
    assert len(delivery()["attempts"]) == 4


def test_an_event_can_be_redelivered(server, receiver):
    hooks = receiver()
    endpoint_for(server, hooks.url)
    _, customer = api(server, "POST", "/v1/customers", "email=x@example.com")
    wait_for(lambda: len(hooks.posts) == 1)
    _, events = api(server, "GET", "/v1/events")
    status, _ = api(
        server, "POST", f"/_emulator/events/{events['data'][0]['id']}/redeliver"
    )
    assert status == 200
    wait_for(lambda: len(hooks.posts) == 2)
    assert hooks.posts[0][1] == hooks.posts[1][1]
    assert json.loads(hooks.posts[1][1])["data"]["object"]["id"] == customer["id"]


def test_state_survives_a_restart(tmp_path):
    path = tmp_path / "state.json"
    first = EmulatorServer("127.0.0.1", 0, state_path=str(path)).start()
    _, customer = api(first, "POST", "/v1/customers", "email=keep@example.com")
    first.stop()

    second = EmulatorServer("127.0.0.1", 0, state_path=str(path)).start()
    try:
        status, again = api(second, "GET", f"/v1/customers/{customer['id']}")
    finally:
        second.stop()
    assert (status, again["email"]) == (200, "keep@example.com")


def test_the_command_line_refuses_a_busy_port(server, capsys):
    from stripe_emulator.__main__ import main

    assert main(["--port", str(server.port)]) == 1
    assert "cannot listen" in capsys.readouterr().err


def test_the_port_comes_from_the_environment_before_the_env_file(tmp_path, monkeypatch):
    from stripe_emulator.__main__ import default_port

    env_file = tmp_path / ".env"
    env_file.write_text("# STRIPE_EMULATOR_PORT=1\nSTRIPE_EMULATOR_PORT='12345'\n")
    monkeypatch.delenv("STRIPE_EMULATOR_PORT", raising=False)
    assert default_port(None) == 12111
    assert default_port(str(tmp_path / "missing")) == 12111
    assert default_port(str(env_file)) == 12345
    monkeypatch.setenv("STRIPE_EMULATOR_PORT", "12400")
    assert default_port(str(env_file)) == 12400


def test_a_port_that_is_not_a_number_stops_it_in_one_line(tmp_path, monkeypatch):
    from stripe_emulator.__main__ import default_port

    monkeypatch.setenv("STRIPE_EMULATOR_PORT", "twelve")
    with pytest.raises(SystemExit, match="must be a port number, not 'twelve'"):
        default_port(None)


def test_control_routes(server, session):
    assert api(server, "GET", "/_emulator/")[1]["objects"]["checkout.session"] == 1
    status, body = api(
        server, "POST", f"/_emulator/checkout/{session['id']}/complete", "card=success"
    )
    assert (status, body["redirect"]) == (
        200,
        f"https://site.test/done?session_id={session['id']}",
    )
    changed = api(server, "POST", "/_emulator/settings", "payment_retry_days=[1,2]")[1]
    assert changed["payment_retry_days"] == [1, 2]
    requests = api(server, "GET", "/_emulator/requests")[1]["requests"]
    assert {"method": "POST", "path": "/v1/checkout/sessions", "count": 1} in requests
    assert api(server, "POST", "/_emulator/reset")[0] == 200
    assert api(server, "GET", "/v1/checkout/sessions")[1]["data"] == []
    assert api(server, "GET", "/_emulator/nope")[0] == 404
