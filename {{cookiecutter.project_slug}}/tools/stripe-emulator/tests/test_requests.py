"""Requests as stripe-python sends them: encoding, auth, errors, pagination, expand, idempotency."""

import pytest

from stripe_emulator.encoding import parse_params
from stripe_emulator.engine import Engine
from stripe_emulator.errors import StripeError

from .conftest import Api


def test_bracket_notation_nests_dicts_and_lists():
    parsed = parse_params(
        "items[0][price]=p1&items[0][quantity]=2&items[1][price]=p2"
        "&metadata[account]=7&expand[]=customer&expand[]=data.items"
    )
    assert parsed == {
        "items": [{"price": "p1", "quantity": "2"}, {"price": "p2"}],
        "metadata": {"account": "7"},
        "expand": ["customer", "data.items"],
    }


@pytest.mark.parametrize("body", ["a[b=1", "[x]=1", "a[b]c=1", "a=1&a[b]=2"])
def test_malformed_keys_are_a_400(body):
    with pytest.raises(StripeError) as caught:
        parse_params(body)
    assert caught.value.status == 400


def test_any_sk_test_key_is_accepted(api):
    assert api.ok("GET", "/v1/account", key="sk_test_anything")["object"] == "account"


@pytest.mark.parametrize("key", ["sk_live_123456789012", "pk_test_123456789012", ""])
def test_other_keys_get_401(api, key):
    status, body = api("GET", "/v1/account", key=key)
    assert status == 401
    assert body["error"]["type"] == "invalid_request_error"


def test_unknown_parameter_is_parameter_unknown(api):
    status, body = api("POST", "/v1/customers", "colour=blue")
    assert status == 400
    assert body["error"]["code"] == "parameter_unknown"
    assert body["error"]["param"] == "colour"


def test_missing_parameter_is_parameter_missing(api):
    status, body = api("POST", "/v1/products", "description=x")
    assert (status, body["error"]["code"], body["error"]["param"]) == (
        400,
        "parameter_missing",
        "name",
    )


def test_unknown_id_is_resource_missing(api):
    status, body = api("GET", "/v1/subscriptions/sub_nope")
    assert status == 404
    assert body["error"]["code"] == "resource_missing"
    assert "sub_nope" in body["error"]["message"]


@pytest.mark.parametrize(
    ("method", "path"), [("GET", "/v1/disputes"), ("DELETE", "/v1/account")]
)
def test_unknown_routes_and_methods_get_stripe_errors(api, method, path):
    status, body = api(method, path)
    assert status == 404
    assert body["error"]["type"] == "invalid_request_error"


def test_a_malformed_body_is_a_400_not_a_traceback(api):
    status, body = api("POST", "/v1/customers", "metadata[a=1")
    assert status == 400
    assert "error" in body


def test_a_bad_integer_names_its_param(api, catalog):
    status, body = api(
        "POST",
        "/v1/prices",
        f"product={catalog['product']['id']}&currency=usd&unit_amount=x",
    )
    assert (status, body["error"]["param"]) == (400, "unit_amount")


def test_pagination_walks_every_object_once(api):
    made = [
        api.ok("POST", "/v1/customers", f"email=c{i}@example.com")["id"]
        for i in range(7)
    ]
    seen, cursor = [], None
    while True:
        query = "limit=3" + (f"&starting_after={cursor}" if cursor else "")
        page = api.ok("GET", "/v1/customers", query=query)
        seen += [c["id"] for c in page["data"]]
        if not page["has_more"]:
            break
        cursor = page["data"][-1]["id"]
    assert seen == list(reversed(made))


def test_ending_before_pages_backwards(api):
    made = [
        api.ok("POST", "/v1/customers", f"email=c{i}@example.com")["id"]
        for i in range(5)
    ]
    page = api.ok("GET", "/v1/customers", query=f"limit=2&ending_before={made[1]}")
    assert [c["id"] for c in page["data"]] == [made[3], made[2]]
    assert page["has_more"] is True


def test_expand_nested_fields(api, catalog, customer):
    sub = api.ok(
        "POST",
        "/v1/subscriptions",
        f"customer={customer['id']}&items[0][price]={catalog['monthly']['id']}"
        "&expand[]=customer&expand[]=items.data.price.product&expand[]=latest_invoice",
    )
    assert sub["customer"]["email"] == "ada@example.com"
    assert sub["items"]["data"][0]["price"]["product"]["name"] == "Pro"
    assert sub["latest_invoice"]["object"] == "invoice"


def test_expand_on_lists_takes_data_prefix(api, catalog, customer):
    api.ok(
        "POST",
        "/v1/subscriptions",
        f"customer={customer['id']}&items[0][price]={catalog['monthly']['id']}",
    )
    listed = api.ok("GET", "/v1/subscriptions", query="expand[]=data.customer")
    assert listed["data"][0]["customer"]["id"] == customer["id"]
    status, _ = api("GET", "/v1/subscriptions", query="expand[]=customer")
    assert status == 400


def test_idempotency_key_replays_the_first_answer(api):
    headers = {"Idempotency-Key": "once"}
    first = api.ok("POST", "/v1/customers", "email=a@example.com", headers=headers)
    again = api.ok("POST", "/v1/customers", "email=a@example.com", headers=headers)
    assert first == again
    assert len(api.ok("GET", "/v1/customers")["data"]) == 1


def test_idempotency_key_reused_with_other_params_is_an_error(api):
    headers = {"Idempotency-Key": "once"}
    api.ok("POST", "/v1/customers", "email=a@example.com", headers=headers)
    status, body = api("POST", "/v1/customers", "email=b@example.com", headers=headers)
    assert status == 400
    assert body["error"]["type"] == "idempotency_error"


def test_idempotency_keys_expire_after_a_day():
    now = [1_700_000_000.0]
    api = Api(Engine(clock=lambda: now[0]))
    headers = {"Idempotency-Key": "daily"}
    first = api.ok("POST", "/v1/customers", "email=a@example.com", headers=headers)
    now[0] += 24 * 3600 + 1
    second = api.ok("POST", "/v1/customers", "email=a@example.com", headers=headers)
    assert first["id"] != second["id"]
