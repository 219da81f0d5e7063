"""The store: every object of the emulated account, its events, idempotency keys and
webhook deliveries, behind one re-entrant lock.

Objects are kept by id and indexed by type, and by the fields that lookups filter on
(the customer of a subscription, invoice or payment method, the subscription of an
invoice, the test clock of a customer, the product of a price), so finding one
customer's invoices costs the same whatever else the account holds. Each type is also
kept sorted by (created, creation order), the order of Stripe's lists, so a page of a
long list costs about its own size. Code that changes an indexed field of a stored
object calls `save()` again to move it in the indexes.

The store does no locking of its own: the engine takes `lock` around each request and
each helper call, so a whole request sees and leaves consistent state.
"""

import json
import secrets
import string
import threading
from bisect import bisect_left, insort
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from . import shapes
from .errors import StripeError, missing
from .params import as_string, clone
from .shapes import JSON

ID_ALPHABET = string.ascii_letters + string.digits
PREFIXES = {
    "product": "prod",
    "price": "price",
    "customer": "cus",
    "payment_method": "pm",
    "checkout.session": "cs_test",
    "item": "li",
    "billing_portal.configuration": "bpc",
    "billing_portal.session": "bps",
    "subscription": "sub",
    "subscription_item": "si",
    "invoice": "in",
    "line_item": "il",
    "event": "evt",
    "webhook_endpoint": "we",
    "test_helpers.test_clock": "clock",
    "payment_intent": "pi",
    "invoice_payment": "inpay",
    "promotion_code": "promo",
    "discount": "di",
    "charge": "ch",
    "refund": "re",
    "customer_balance_transaction": "cbtxn",
}
# The fields each type is indexed by (see `where()`).
INDEXED_FIELDS = {
    "subscription": ("customer",),
    "invoice": ("customer", "subscription"),
    "payment_method": ("customer",),
    "checkout.session": ("customer",),
    "billing_portal.session": ("customer",),
    "customer": ("test_clock",),
    "price": ("product",),
    "invoice_payment": ("invoice",),
    "payment_intent": ("customer",),
    "charge": ("customer", "payment_intent"),
    "refund": ("charge",),
    "customer_balance_transaction": ("customer",),
    "discount": ("subscription",),
}
# A place in a type's sorted order: (created, creation sequence, id).
OrderKey = tuple[int, int, str]
# Like Stripe, an idempotency key is forgotten after 24 hours.
IDEMPOTENCY_TTL = 24 * 3600


def default_settings() -> JSON:
    """The settings of a new (or reset) account."""
    return {
        # Days between failed renewal payment retries (Stripe's schedule is
        # configurable too), then what happens to the subscription.
        "payment_retry_days": [3, 5, 7],
        "final_payment_failure": "cancel",
        # Seconds between webhook delivery attempts after a failure.
        "webhook_retry_delays": [1, 5, 30, 120, 600],
        "webhook_timeout": 10,
    }


def random_suffix(length: int) -> str:
    """`length` random letters and digits (one read of the system's random source)."""
    return "".join(
        ID_ALPHABET[b % len(ID_ALPHABET)] for b in secrets.token_bytes(length)
    )


class Store:
    """The account's objects, events, idempotency keys, deliveries and settings."""

    def __init__(
        self, public_url: str, api_version: str, clock: Callable[[], float]
    ) -> None:
        self.lock = threading.RLock()
        # Where the hosted pages are served (Checkout, portal and invoice URLs).
        self.public_url = public_url
        # The API version events are rendered in.
        self.api_version = api_version
        self.clock = clock
        # The request being answered, recorded on the events it causes.
        self.request: dict[str, str | None] = {"id": None, "idempotency_key": None}
        self.version = 0
        self.change_listeners: list[Callable[[Store], None]] = []
        # Set whenever a webhook delivery is queued, to wake the sender thread.
        self.deliveries_changed = threading.Event()
        self.clear()

    def clear(self) -> None:
        """Forget every object, event, delivery and key; settings return to defaults."""
        self.created = int(self.clock())
        self.objects: dict[str, JSON] = {}
        # Insertion order is creation order: a replaced object keeps its place.
        self.by_type: dict[str, dict[str, JSON]] = {}
        self.seq: dict[str, int] = {}
        self.next_seq = 1
        self._index: dict[tuple[str, str], dict[Any, dict[str, JSON]]] = {}
        self._indexed_as: dict[str, tuple] = {}
        # Per type, the OrderKey of every object, ascending (oldest first).
        self._ordered: dict[str, list[OrderKey]] = {}
        self._order_key: dict[str, OrderKey] = {}
        self.private_data: dict[str, JSON] = {}
        self.deliveries: dict[str, JSON] = {}
        self.delivery_order: list[str] = []
        self.idempotency: dict[str, JSON] = {}
        self.settings = default_settings()

    # -- ids and time ------------------------------------------------------------

    def new_id(self, object_type: str) -> str:
        """A new id in Stripe's form for the type (prefix, underscore, random part)."""
        length = 58 if object_type == "checkout.session" else 14
        return f"{PREFIXES[object_type]}_{random_suffix(length)}"

    def now(self, customer_id: str | None = None) -> int:
        """Current time for a customer: its test clock's frozen time, else real time."""
        if customer_id:
            customer = self.objects.get(customer_id)
            clock_id = customer and customer.get("test_clock")
            if clock_id and clock_id in self.objects:
                return self.objects[clock_id]["frozen_time"]
        return int(self.clock())

    # -- objects -----------------------------------------------------------------

    def save(self, obj: JSON) -> JSON:
        """Store (insert or replace) an object, and index it by its current fields."""
        object_id, kind = obj["id"], obj["object"]
        if object_id not in self.objects:
            self.seq[object_id] = self.next_seq
            self.next_seq += 1
        self.objects[object_id] = obj
        self.by_type.setdefault(kind, {})[object_id] = obj
        fields = INDEXED_FIELDS.get(kind)
        if fields:
            values = tuple(obj.get(field) for field in fields)
            previous = self._indexed_as.get(object_id)
            if previous is not None and previous != values:
                self._unindex(object_id, kind, previous)
            for field, value in zip(fields, values, strict=True):
                bucket = self._index.setdefault((kind, field), {})
                bucket.setdefault(value, {})[object_id] = obj
            self._indexed_as[object_id] = values
        self._place(obj)
        return obj

    def _place(self, obj: JSON) -> None:
        """Keep the object at its place in its type's sorted order."""
        object_id = obj["id"]
        key = (obj.get("created") or 0, self.seq[object_id], object_id)
        old = self._order_key.get(object_id)
        if old == key:
            return
        ordered = self._ordered.setdefault(obj["object"], [])
        if old is not None:
            del ordered[bisect_left(ordered, old)]
        insort(ordered, key)
        self._order_key[object_id] = key

    def _unindex(self, object_id: str, kind: str, values: tuple) -> None:
        for field, value in zip(INDEXED_FIELDS[kind], values, strict=True):
            bucket = self._index[(kind, field)]
            bucket[value].pop(object_id, None)
            if not bucket[value]:
                del bucket[value]

    def remove(self, object_id: str) -> None:
        """Forget an object (and its places in the indexes)."""
        obj = self.objects.pop(object_id, None)
        if obj is None:
            return
        self.by_type[obj["object"]].pop(object_id, None)
        self.seq.pop(object_id, None)
        key = self._order_key.pop(object_id, None)
        if key is not None:
            ordered = self._ordered[obj["object"]]
            del ordered[bisect_left(ordered, key)]
        values = self._indexed_as.pop(object_id, None)
        if values is not None:
            self._unindex(object_id, obj["object"], values)

    def find(self, object_id: str | None, param: str = "id") -> JSON | None:
        """The stored object (not a copy), or None."""
        if not object_id:
            return None
        return self.objects.get(as_string(object_id, param))

    def fetch(self, object_type: str, object_id: str, param: str = "id") -> JSON:
        """The stored object of that type (not a copy), or Stripe's 404."""
        obj = self.objects.get(as_string(object_id, param))
        if obj is None or obj["object"] != object_type:
            name = object_type.rsplit(".", 1)[-1].replace("_", " ")
            raise missing(name, object_id, param)
        return obj

    def of_type(self, object_type: str) -> list[JSON]:
        """Every stored object of a type, oldest first (not copies)."""
        return list(self.by_type.get(object_type, {}).values())

    def count(self, object_type: str) -> int:
        """How many objects of a type are stored."""
        return len(self.by_type.get(object_type, ()))

    def ordered(self, object_type: str) -> list[OrderKey]:
        """The sorted order of a type, oldest first (not a copy: do not change it)."""
        return self._ordered.get(object_type, [])

    def order_key(self, object_id: str) -> OrderKey | None:
        """Where an object sits in its type's sorted order, or None if not stored."""
        return self._order_key.get(object_id)

    def where(self, object_type: str, field: str, value: Any) -> list[JSON]:
        """Stored objects of a type whose `field` equals `value` (not copies)."""
        if isinstance(value, (dict, list)):  # a request's array or hash
            as_string(value, field)
        bucket = self._index.get((object_type, field))
        if bucket is None:
            if field in INDEXED_FIELDS.get(object_type, ()):
                return []  # indexed, but nothing of the type is stored yet
            return [o for o in self.of_type(object_type) if o.get(field) == value]
        return list(bucket.get(value, {}).values())

    def oldest_first(self, objects: list[JSON]) -> list[JSON]:
        """The objects in creation order."""
        return sorted(objects, key=lambda o: self.seq[o["id"]])

    def private(self, object_id: str) -> JSON:
        """Emulator-only data about an object that Stripe does not return."""
        return self.private_data.setdefault(object_id, {})

    def summary(self) -> dict[str, int]:
        """How many objects of each type are stored."""
        return {
            kind: len(found) for kind, found in sorted(self.by_type.items()) if found
        }

    # -- the API view -------------------------------------------------------------

    def render(self, obj: JSON) -> JSON:
        """The API view of a stored object (subscriptions embed items and prices)."""
        kind = obj["object"]
        if kind == "subscription":
            out = clone(obj)
            out["items"]["data"] = [
                self.render(self.objects[item_id]) for item_id in obj["items"]["data"]
            ]
            return out
        if kind == "subscription_item":
            out = clone(obj)
            price = self.objects[obj["price"]]
            out["price"] = clone(price)
            out["plan"] = shapes.plan_from_price(price)
            return out
        return clone(obj)

    def get(self, object_type: str, object_id: str) -> JSON | None:
        """The object as the API would return it (a copy), or None."""
        obj = self.objects.get(object_id)
        if obj is None or obj["object"] != object_type:
            return None
        return self.render(obj)

    def all(self, object_type: str) -> list[JSON]:
        """Every object of a type, oldest first, as the API returns them."""
        return [self.render(obj) for obj in self.of_type(object_type)]

    # -- idempotency --------------------------------------------------------------

    def replay(
        self, cache_key: str, key: str, fingerprint: str
    ) -> tuple[int, str] | None:
        """The remembered answer to a request with this key, if any.

        Reusing a key with other parameters is Stripe's idempotency_error.
        """
        cached = self.idempotency.get(cache_key)
        if cached is None or cached.get("at", 0) < self.clock() - IDEMPOTENCY_TTL:
            return None
        if cached["fingerprint"] != fingerprint:
            raise StripeError(
                400,
                "Keys for idempotent requests can only be used with the same"
                " parameters they were first used with. Try using a key other"
                f" than '{key}' if you meant to execute a different request.",
                code="idempotency_key_in_use",
                error_type="idempotency_error",
            )
        return cached["status"], cached["body"]

    def remember(
        self, cache_key: str, fingerprint: str, status: int, text: str
    ) -> None:
        """Keep an answer for replays of the same key."""
        now = self.clock()
        cache = self.idempotency
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

    # -- changes and persistence --------------------------------------------------

    def changed(self) -> None:
        """Count a change and tell the listeners (the state file's writer)."""
        self.version += 1
        for listener in self.change_listeners:
            listener(self)

    @contextmanager
    def changing(self) -> Iterator[None]:
        """Hold the lock for a change made outside a request, and report it.

        Reported even when the change ends in an error: a declined charge still
        records the attempt and its events.
        """
        with self.lock:
            try:
                yield
            finally:
                self.changed()

    def dump(self) -> tuple[int, str]:
        """(version, the whole state as JSON text) for the state file."""
        with self.lock:
            state = {
                "created": self.created,
                "next_seq": self.next_seq,
                "objects": self.objects,
                "seq": self.seq,
                "private": self.private_data,
                "deliveries": self.deliveries,
                "delivery_order": self.delivery_order,
                "idempotency": self.idempotency,
                "settings": self.settings,
            }
            return self.version, json.dumps(state, separators=(",", ":"))

    def load(self, text: str) -> None:
        """Replace the state with one saved by `dump()`."""
        loaded = json.loads(text)
        with self.lock:
            self.clear()
            self.created = loaded.get("created", self.created)
            objects = loaded.get("objects", {})
            seq = loaded.get("seq", {})
            for object_id in sorted(objects, key=lambda i: seq.get(i, 0)):
                self.save(objects[object_id])
            self.seq.update({i: n for i, n in seq.items() if i in self.objects})
            # The sorted orders were built with new sequence numbers: use the saved ones.
            self._ordered.clear()
            self._order_key.clear()
            for obj in self.objects.values():
                self._place(obj)
            self.next_seq = max(loaded.get("next_seq", 1), self.next_seq)
            self.private_data = loaded.get("private", {})
            self.deliveries = loaded.get("deliveries", {})
            self.delivery_order = loaded.get("delivery_order", [])
            self.idempotency = loaded.get("idempotency", {})
            self.settings.update(loaded.get("settings", {}))
            self.deliveries_changed.set()
