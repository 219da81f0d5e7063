"""The engine: Stripe's state machine for the resources the site uses, with no I/O.

Both doors (the HTTP server and the in-process client for stripe-python) call
`Engine.handle()`; the hosted pages and test helpers call the engine's methods.
One re-entrant lock serialises every state change, so threads see consistent state.
"""

import fnmatch
import json
import re
import secrets
import string
import threading
import time
from collections import Counter

from . import shapes
from .billing import BillingMixin
from .catalog import CatalogMixin
from .encoding import parse_params
from .errors import StripeError, invalid, missing, parameter_unknown
from .params import LIST_PARAMS, as_int, check_params, clone, created_filter
from .webhooks import WebhookMixin

# The API version stripe-python 15 pins; events are rendered in it.
DEFAULT_API_VERSION = "2026-08-26.dahlia"
DEFAULT_PUBLIC_URL = "http://127.0.0.1:12111"
ACCOUNT_ID = "acct_1EmulatorLocal0"
ID_ALPHABET = string.ascii_letters + string.digits
MAX_EXPAND_DEPTH = 4
NOT_EXPANDABLE = object()
IDEMPOTENCY_TTL = 24 * 3600

PREFIXES = {
    "product": "prod",
    "price": "price",
    "customer": "cus",
    "payment_method": "pm",
    "checkout.session": "cs_test",
    "item": "li",
    "billing_portal.session": "bps",
    "subscription": "sub",
    "subscription_item": "si",
    "invoice": "in",
    "line_item": "il",
    "event": "evt",
    "webhook_endpoint": "we",
    "test_helpers.test_clock": "clock",
}


class FaultTimeout(Exception):
    """An injected fault: the request hangs and never gets an answer."""

    def __init__(self, path, seconds):
        super().__init__(f"Injected timeout on {path}")
        self.seconds = seconds


class Route:
    """One API route: method, a path pattern with {id} parts, and the handler name."""

    def __init__(self, method, pattern, handler, mutates=None):
        self.method = method
        self.pattern = pattern
        self.regex = re.compile(
            "^" + re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", pattern) + "$"
        )
        self.handler = handler
        self.mutates = method != "GET" if mutates is None else mutates


ROUTES = [
    Route("GET", "/v1/account", "get_account"),
    Route("GET", "/v1/accounts", "list_accounts"),
    Route("GET", "/v1/accounts/{id}", "retrieve_account"),
    Route("POST", "/v1/products", "create_product"),
    Route("GET", "/v1/products", "list_products"),
    Route("GET", "/v1/products/{id}", "retrieve_product"),
    Route("POST", "/v1/products/{id}", "update_product"),
    Route("DELETE", "/v1/products/{id}", "delete_product"),
    Route("GET", "/v1/products/{id}/features", "list_product_features"),
    Route("POST", "/v1/prices", "create_price"),
    Route("GET", "/v1/prices", "list_prices"),
    Route("GET", "/v1/prices/{id}", "retrieve_price"),
    Route("POST", "/v1/prices/{id}", "update_price"),
    Route("POST", "/v1/customers", "create_customer"),
    Route("GET", "/v1/customers", "list_customers"),
    Route("GET", "/v1/customers/{id}", "retrieve_customer"),
    Route("POST", "/v1/customers/{id}", "update_customer"),
    Route("DELETE", "/v1/customers/{id}", "delete_customer"),
    Route("GET", "/v1/customers/{id}/payment_methods", "list_customer_payment_methods"),
    Route("GET", "/v1/customers/{id}/sources", "list_customer_sources"),
    Route("GET", "/v1/customers/{id}/tax_ids", "list_customer_tax_ids"),
    Route("GET", "/v1/payment_methods", "list_payment_methods"),
    Route("GET", "/v1/payment_methods/{id}", "retrieve_payment_method"),
    Route("POST", "/v1/payment_methods/{id}/attach", "attach_payment_method"),
    Route("POST", "/v1/payment_methods/{id}/detach", "detach_payment_method"),
    Route("POST", "/v1/checkout/sessions", "create_checkout_session"),
    Route("GET", "/v1/checkout/sessions", "list_checkout_sessions"),
    Route("GET", "/v1/checkout/sessions/{id}", "retrieve_checkout_session"),
    Route("GET", "/v1/checkout/sessions/{id}/line_items", "list_checkout_line_items"),
    Route("POST", "/v1/checkout/sessions/{id}/expire", "expire_checkout_session"),
    Route("POST", "/v1/billing_portal/sessions", "create_portal_session"),
    Route("POST", "/v1/subscriptions", "create_subscription"),
    Route("GET", "/v1/subscriptions", "list_subscriptions"),
    Route("GET", "/v1/subscriptions/{id}", "retrieve_subscription"),
    Route("POST", "/v1/subscriptions/{id}", "update_subscription"),
    Route("DELETE", "/v1/subscriptions/{id}", "cancel_subscription"),
    Route("GET", "/v1/subscription_items", "list_subscription_items"),
    Route("GET", "/v1/subscription_items/{id}", "retrieve_subscription_item"),
    Route("GET", "/v1/invoices", "list_invoices"),
    Route("GET", "/v1/invoices/{id}", "retrieve_invoice"),
    Route("GET", "/v1/invoices/{id}/lines", "list_invoice_lines"),
    Route("POST", "/v1/invoices/{id}/pay", "pay_invoice"),
    Route("GET", "/v1/events", "list_events"),
    Route("GET", "/v1/events/{id}", "retrieve_event"),
    Route("POST", "/v1/webhook_endpoints", "create_webhook_endpoint"),
    Route("GET", "/v1/webhook_endpoints", "list_webhook_endpoints"),
    Route("GET", "/v1/webhook_endpoints/{id}", "retrieve_webhook_endpoint"),
    Route("POST", "/v1/webhook_endpoints/{id}", "update_webhook_endpoint"),
    Route("DELETE", "/v1/webhook_endpoints/{id}", "delete_webhook_endpoint"),
    Route("POST", "/v1/test_helpers/test_clocks", "create_test_clock"),
    Route("GET", "/v1/test_helpers/test_clocks", "list_test_clocks"),
    Route("GET", "/v1/test_helpers/test_clocks/{id}", "retrieve_test_clock"),
    Route("DELETE", "/v1/test_helpers/test_clocks/{id}", "delete_test_clock"),
    Route("POST", "/v1/test_helpers/test_clocks/{id}/advance", "advance_test_clock"),
]


class Engine(CatalogMixin, BillingMixin, WebhookMixin):
    """A stateful Stripe for one account; every public method is thread-safe."""

    def __init__(
        self, public_url=DEFAULT_PUBLIC_URL, api_version=DEFAULT_API_VERSION, clock=None
    ):
        self.public_url = public_url.rstrip("/")
        self.api_version = api_version
        self.clock = clock or time.time
        self.lock = threading.RLock()
        self._meta_lock = threading.Lock()
        self.deliveries_changed = threading.Event()
        self.change_listeners = []
        self.request_counts = Counter()
        self.faults = []
        self.version = 0
        self.state = self._empty_state()
        self._request = {"id": None, "idempotency_key": None}

    # -- state -----------------------------------------------------------------

    def _empty_state(self):
        return {
            "created": int(self.clock()),
            "objects": {},
            "types": {},
            "seq": {},
            "next_seq": 1,
            "private": {},
            "deliveries": {},
            "delivery_order": [],
            "idempotency": {},
            "settings": {
                # Days between failed renewal payment retries (Stripe's default
                # schedule is configurable too), then what happens to the subscription.
                "payment_retry_days": [3, 5, 7],
                "final_payment_failure": "cancel",
                # Seconds between webhook delivery attempts after a failure.
                "webhook_retry_delays": [1, 5, 30, 120, 600],
                "webhook_timeout": 10,
            },
        }

    def reset(self):
        """Forget every object, event and delivery (settings return to defaults)."""
        with self.lock:
            self.state = self._empty_state()
            self.request_counts.clear()
            self.faults.clear()
            self._changed()

    def to_json(self):
        """The whole state as JSON text (for the state file)."""
        with self.lock:
            return self.version, json.dumps(self.state, separators=(",", ":"))

    def load_json(self, text):
        """Replace the state with one saved by `to_json()`."""
        with self.lock:
            loaded = json.loads(text)
            defaults = self._empty_state()
            defaults["settings"].update(loaded.get("settings", {}))
            loaded["settings"] = defaults["settings"]
            self.state = {**defaults, **loaded}
            self.deliveries_changed.set()

    def _changed(self):
        self.version += 1
        for listener in self.change_listeners:
            listener(self)

    def settings(self, **changes):
        """Read or change engine settings (dunning schedule, webhook retry delays...)."""
        with self.lock:
            unknown = set(changes) - set(self.state["settings"])
            if unknown:
                raise parameter_unknown(sorted(unknown)[0])
            self.state["settings"].update(changes)
            if changes:
                self._changed()
            return dict(self.state["settings"])

    def new_id(self, object_type):
        prefix = PREFIXES[object_type]
        length = 58 if object_type == "checkout.session" else 14
        suffix = "".join(secrets.choice(ID_ALPHABET) for _ in range(length))
        return f"{prefix}_{suffix}"

    def now(self, customer_id=None):
        """Current time for a customer: its test clock's frozen time, else real time."""
        if customer_id:
            customer = self.state["objects"].get(customer_id)
            clock_id = customer and customer.get("test_clock")
            if clock_id and clock_id in self.state["objects"]:
                return self.state["objects"][clock_id]["frozen_time"]
        return int(self.clock())

    def save(self, obj):
        """Store (insert or replace) an object."""
        objects = self.state["objects"]
        if obj["id"] not in objects:
            self.state["types"][obj["id"]] = obj["object"]
            self.state["seq"][obj["id"]] = self.state["next_seq"]
            self.state["next_seq"] += 1
        objects[obj["id"]] = obj
        return obj

    def remove(self, object_id):
        self.state["objects"].pop(object_id, None)
        self.state["types"].pop(object_id, None)
        self.state["seq"].pop(object_id, None)

    def private(self, object_id):
        """Emulator-only data about an object that Stripe does not return."""
        return self.state["private"].setdefault(object_id, {})

    def fetch(self, object_type, object_id, param="id"):
        """The stored object, or Stripe's 404."""
        obj = self.state["objects"].get(object_id)
        if obj is None or obj["object"] != object_type:
            raise missing(
                object_type.rsplit(".", 1)[-1].replace("_", " "), object_id, param
            )
        return obj

    def get(self, object_type, object_id):
        """The object as the API would return it (a copy), or None."""
        with self.lock:
            obj = self.state["objects"].get(object_id)
            if obj is None or obj["object"] != object_type:
                return None
            return self.render(obj)

    def all(self, object_type):
        """Every stored object of a type, oldest first, as the API returns them."""
        with self.lock:
            ids = [i for i, t in self.state["types"].items() if t == object_type]
            ids.sort(key=lambda i: self.state["seq"][i])
            return [self.render(self.state["objects"][i]) for i in ids]

    def render(self, obj):
        """The API view of a stored object (subscriptions embed items and prices)."""
        kind = obj["object"]
        if kind == "subscription":
            out = clone(obj)
            out["items"]["data"] = [
                self.render(self.state["objects"][item_id])
                for item_id in obj["items"]["data"]
            ]
            return out
        if kind == "subscription_item":
            out = clone(obj)
            price = self.state["objects"][obj["price"]]
            out["price"] = clone(price)
            out["plan"] = shapes.plan_from_price(price)
            return out
        return clone(obj)

    # -- lists, expand -----------------------------------------------------------

    def list_response(self, url, objects, params):
        """Stripe's list object over `objects` (already filtered), newest first."""
        limit = as_int(params.get("limit", 10), "limit", minimum=1)
        if limit > 100:
            raise invalid(
                "This value must be less than or equal to 100.", param="limit"
            )
        seq = self.state["seq"]
        ordered = sorted(
            objects, key=lambda o: (o.get("created", 0), seq.get(o["id"], 0))
        )
        ordered.reverse()
        ids = [o["id"] for o in ordered]
        if params.get("starting_after") and params.get("ending_before"):
            raise invalid(
                "You may only specify one of these parameters: ending_before, starting_after.",
                param="ending_before",
            )
        if params.get("starting_after"):
            cursor = params["starting_after"]
            if cursor not in ids:
                raise missing("object", cursor, "starting_after")
            start = ids.index(cursor) + 1
            page = ordered[start : start + limit]
            has_more = start + limit < len(ordered)
        elif params.get("ending_before"):
            cursor = params["ending_before"]
            if cursor not in ids:
                raise missing("object", cursor, "ending_before")
            end = ids.index(cursor)
            page = ordered[max(0, end - limit) : end]
            has_more = end - limit > 0
        else:
            page = ordered[:limit]
            has_more = len(ordered) > limit
        return {
            "object": "list",
            "data": [self.render(o) for o in page],
            "has_more": has_more,
            "url": url,
        }

    def simple_list(self, object_type, url, params, filters=(), accepted=()):
        """A list endpoint: equality filters on `filters`, `created` ranges, pagination."""
        check_params(params, LIST_PARAMS | {"created", *filters, *accepted})
        objects = self.objects_of(object_type)
        for field in filters:
            if params.get(field):
                objects = [o for o in objects if o.get(field) == params[field]]
        matches = created_filter(params.get("created"))
        objects = [o for o in objects if matches(o["created"])]
        return self.list_response(url, objects, params)

    def objects_of(self, object_type):
        objects = self.state["objects"]
        return [objects[i] for i, t in self.state["types"].items() if t == object_type]

    def expand(self, result, paths):
        """Apply `expand[]` paths ('customer', 'data.items.data.price.product', ...)."""
        if isinstance(paths, str):
            paths = [paths]
        if not isinstance(paths, list):
            raise invalid("Invalid array", param="expand")
        for path in paths:
            parts = path.split(".")
            depth = len([p for p in parts if p != "data"])
            if depth > MAX_EXPAND_DEPTH:
                raise invalid(
                    f"You cannot expand more than {MAX_EXPAND_DEPTH} levels of a property."
                    f" Property: {path}",
                    param="expand",
                )
            self._expand_node(result, parts, path)
        return result

    def _expand_node(self, node, parts, path):
        if not parts or node is None:
            return
        head, rest = parts[0], parts[1:]
        if isinstance(node, list):
            for item in node:
                self._expand_node(item, parts, path)
            return
        if not isinstance(node, dict):
            raise invalid(f"This property cannot be expanded ({path}).", param="expand")
        if node.get("object") == "list" and head == "data":
            for item in node["data"]:
                self._expand_node(item, rest, path)
            return
        extra = self.expand_extra(node, head)
        if extra is not NOT_EXPANDABLE:
            node[head] = extra
        elif head not in node:
            raise invalid(f"This property cannot be expanded ({head}).", param="expand")
        value = node[head]
        if isinstance(value, str):
            target = self.state["objects"].get(value)
            if target is None:
                raise invalid(
                    f"This property cannot be expanded ({head}).", param="expand"
                )
            node[head] = self.render(target)
        self._expand_node(node[head], rest, path)

    def expand_extra(self, node, field):
        """Fields Stripe includes only when expanded (line items, price tiers)."""
        kind = node.get("object")
        if kind == "checkout.session" and field == "line_items":
            items = self.private(node["id"]).get("line_items", [])
            url = f"/v1/checkout/sessions/{node['id']}/line_items"
            return {
                "object": "list",
                "data": clone(items),
                "has_more": False,
                "url": url,
            }
        if kind == "price" and field == "tiers":
            return clone(self.private(node["id"]).get("tiers"))
        if kind == "price" and field == "currency_options":
            option = {
                "custom_unit_amount": None,
                "tax_behavior": node["tax_behavior"],
                "unit_amount": node["unit_amount"],
                "unit_amount_decimal": node["unit_amount_decimal"],
            }
            return {node["currency"]: option}
        if kind == "customer" and field in ("sources", "tax_ids"):
            return shapes.empty_list(f"/v1/customers/{node['id']}/{field}")
        if field == "breakdown" and "amount_discount" in node:
            # Checkout's total_details.breakdown (dj-stripe expands it).
            return {"discounts": [], "taxes": []}
        if kind == "item" and field == "discounts":
            return []
        return NOT_EXPANDABLE

    # -- events ------------------------------------------------------------------

    def emit(self, event_type, obj, previous_attributes=None, created=None):
        """Record an event (with a snapshot of `obj`) and queue its webhook deliveries."""
        data = {"object": self.render(obj) if "id" in obj else clone(obj)}
        if previous_attributes:
            data["previous_attributes"] = clone(previous_attributes)
        customer_id = (
            obj.get("customer") if isinstance(obj.get("customer"), str) else None
        )
        when = created if created is not None else self.now(customer_id)
        event = shapes.event(
            self.new_id("event"),
            when,
            event_type,
            data,
            self.api_version,
            dict(self._request),
        )
        self.save(event)
        self.queue_deliveries(event)
        return event

    @staticmethod
    def diff(before, after):
        """previous_attributes: the old values of the top-level keys that changed."""
        return {k: before.get(k) for k in after if before.get(k) != after.get(k)}

    # -- requests ----------------------------------------------------------------

    def add_fault(self, path, times=1, status=500, method=None, hang_seconds=30.0):
        """Make the next `times` requests to `path` (a glob) answer `status`.

        `status` is 500, 429 or "timeout" (the request hangs, then the connection drops).
        """
        if status not in (500, 429, 503, "timeout"):
            raise invalid("status must be 500, 429, 503 or timeout", param="status")
        with self._meta_lock:
            self.faults.append(
                {
                    "path": path,
                    "method": method.upper() if method else None,
                    "remaining": int(times),
                    "status": status,
                    "hang_seconds": float(hang_seconds),
                }
            )

    def clear_faults(self):
        with self._meta_lock:
            self.faults.clear()

    def _take_fault(self, method, path):
        with self._meta_lock:
            self.request_counts[(method, path)] += 1
            for fault in self.faults:
                if fault["method"] not in (None, method):
                    continue
                if fault["path"] != path and not fnmatch.fnmatchcase(
                    path, fault["path"]
                ):
                    continue
                fault["remaining"] -= 1
                if fault["remaining"] <= 0:
                    self.faults.remove(fault)
                return fault
        return None

    def count(self, method=None, path=None):
        """How many requests matched `method` and `path` (a glob) so far."""
        with self._meta_lock:
            return sum(
                n
                for (m, p), n in self.request_counts.items()
                if (method is None or m == method.upper())
                and (path is None or p == path or fnmatch.fnmatchcase(p, path))
            )

    def handle(self, method, path, query="", body=b"", headers=None):
        """Answer one API request: returns (status, headers, body bytes).

        Raises FaultTimeout when an injected fault says the request hangs.
        """
        method = method.upper()
        headers = {k.lower(): v for k, v in (headers or {}).items()}
        request_id = "req_" + "".join(secrets.choice(ID_ALPHABET) for _ in range(14))
        out_headers = {
            "Content-Type": "application/json",
            "Request-Id": request_id,
            "Stripe-Version": headers.get("stripe-version") or self.api_version,
        }
        fault = self._take_fault(method, path)
        try:
            if fault:
                if fault["status"] == "timeout":
                    raise FaultTimeout(path, fault["hang_seconds"])
                if fault["status"] == 429:
                    raise StripeError(
                        429,
                        "Too many requests hit the API too quickly (injected by the emulator).",
                        code="rate_limit",
                        error_type="invalid_request_error",
                    )
                raise StripeError(
                    fault["status"],
                    "An error occurred with our API (injected by the emulator).",
                )
            self._authenticate(headers.get("authorization", ""))
            status, result, replayed = self._dispatch(
                method, path, query, body, headers, request_id
            )
            if replayed:
                out_headers["Idempotent-Replayed"] = "true"
            if headers.get("idempotency-key"):
                out_headers["Idempotency-Key"] = headers["idempotency-key"]
            return status, out_headers, result
        except StripeError as error:
            return error.status, out_headers, json.dumps(error.body()).encode()
        except FaultTimeout:
            raise
        except Exception as error:  # every failure gets Stripe's body
            body = StripeError(
                500, f"The emulator failed on this request: {error!r}"
            ).body()
            return 500, out_headers, json.dumps(body).encode()

    def _authenticate(self, authorization):
        scheme, _, key = authorization.partition(" ")
        if scheme.lower() == "basic":
            import base64

            try:
                key = base64.b64decode(key).decode().split(":", 1)[0]
            except ValueError:
                key = ""
        if not key:
            raise StripeError(
                401,
                "You did not provide an API key. You need to provide your API key in the"
                " Authorization header, using Bearer auth.",
            )
        if not key.startswith("sk_test_"):
            shown = key[:8] + "*" * max(0, len(key) - 12) + key[-4:]
            raise StripeError(
                401, f"Invalid API Key provided: {shown}", code="api_key_invalid"
            )

    def _route(self, method, path):
        path_matched = False
        for route in ROUTES:
            found = route.regex.match(path)
            if found:
                path_matched = True
                if route.method == method:
                    return route, found.groupdict()
        verb = "Unrecognized request URL" if not path_matched else "Unrecognized method"
        raise StripeError(
            404,
            f"{verb} ({method}: {path}). Please see https://stripe.com/docs or we can help at"
            " https://support.stripe.com/.",
        )

    def _dispatch(self, method, path, query, body, headers, request_id):
        route, ids = self._route(method, path)
        params = parse_params(query) if query else {}
        if body:
            ctype = headers.get("content-type", "application/x-www-form-urlencoded")
            if "json" in ctype:
                raise StripeError(
                    400, "Invalid request: the v1 API takes form-encoded bodies."
                )
            params.update(parse_params(body))
        key = headers.get("idempotency-key") if method == "POST" else None
        fingerprint = json.dumps([method, path, params], sort_keys=True)
        with self.lock:
            if key:
                cache_key = f"{headers.get('authorization', '')}|{key}"
                cached = self.state["idempotency"].get(cache_key)
                if cached and cached.get("at", 0) < self.clock() - IDEMPOTENCY_TTL:
                    cached = None
                if cached:
                    if cached["fingerprint"] != fingerprint:
                        raise StripeError(
                            400,
                            "Keys for idempotent requests can only be used with the same"
                            " parameters they were first used with. Try using a key other"
                            f" than '{key}' if you meant to execute a different request.",
                            code="idempotency_key_in_use",
                            error_type="idempotency_error",
                        )
                    return cached["status"], cached["body"].encode(), True
            self._request = {"id": request_id, "idempotency_key": key}
            try:
                expand = params.pop("expand", None)
                result = getattr(self, route.handler)(params, **ids)
                if expand:
                    self.expand(result, expand)
                status, text = 200, json.dumps(result)
            except StripeError as error:
                if error.status >= 500:
                    raise
                status, text = error.status, json.dumps(error.body())
            finally:
                self._request = {"id": None, "idempotency_key": None}
            if key:
                self._remember_idempotent(cache_key, fingerprint, status, text)
            if (route.mutates and status == 200) or key:
                self._changed()
            return status, text.encode(), False

    def _remember_idempotent(self, cache_key, fingerprint, status, text):
        """Keep the answer for replays; like Stripe, keys are forgotten after 24 hours."""
        now = self.clock()
        cache = self.state["idempotency"]
        if len(cache) % 1000 == 999:  # sweep now and then, not on every request
            cutoff = now - IDEMPOTENCY_TTL
            for stale in [k for k, v in cache.items() if v.get("at", now) < cutoff]:
                del cache[stale]
        cache[cache_key] = {
            "fingerprint": fingerprint,
            "status": status,
            "body": text,
            "at": now,
        }

    # -- account -----------------------------------------------------------------

    def get_account(self, params):
        check_params(params, set())
        return shapes.account(ACCOUNT_ID, self.state["created"])

    def retrieve_account(self, params, id):
        check_params(params, set())
        if id != ACCOUNT_ID:
            raise missing("account", id)
        return shapes.account(ACCOUNT_ID, self.state["created"])

    def list_accounts(self, params):
        # Connected accounts: this account has none.
        check_params(params, LIST_PARAMS | {"created"})
        return shapes.empty_list("/v1/accounts")
