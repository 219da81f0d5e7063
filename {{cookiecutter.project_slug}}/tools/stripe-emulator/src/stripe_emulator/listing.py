"""Stripe's list objects (filters, cursor pagination) and `expand[]`.

Two ways to answer a list: `list_response` sorts objects already gathered (one
customer's, from an index: few), and `list_ordered` walks a type's sorted order from
the cursor and stops once the page is full, so a page of a long list (every
subscription or event of the account) costs about the page, not the whole list.
"""

from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterable
from typing import Any

from . import billing_shapes, money_shapes, shapes
from .errors import invalid, missing, parameter_unknown
from .params import LIST_PARAMS, as_int, as_string, check_params, clone, created_filter
from .shapes import JSON
from .store import INDEXED_FIELDS, Store

MAX_EXPAND_DEPTH = 4
NOT_EXPANDABLE = object()
# What an empty list of a type holds, for checking `expand[]=data...` on a new account.
TEMPLATES: dict[str, Callable[[], JSON]] = {
    "customer": lambda: shapes.customer("cus_template", 0, 0),
    "product": lambda: shapes.product("prod_template", 0, {"name": ""}),
    "price": lambda: shapes.price("price_template", 0, "prod_template"),
    "coupon": lambda: money_shapes.coupon("template", 0),
    "checkout.session": lambda: billing_shapes.checkout_session("cs_template", 0, 0),
    "subscription": lambda: billing_shapes.subscription(
        "sub_template", 0, TEMPLATES["customer"]()
    ),
    "invoice": lambda: billing_shapes.invoice(
        "in_template", 0, TEMPLATES["customer"](), ""
    ),
}


def _limit(params: JSON) -> int:
    limit = as_int(params.get("limit", 10), "limit", minimum=1)
    if limit > 100:
        raise invalid("This value must be less than or equal to 100.", param="limit")
    return limit


def list_response(
    store: Store, url: str, objects: Iterable[JSON], params: JSON
) -> JSON:
    """Stripe's list object over `objects` (already filtered), newest first."""
    limit = _limit(params)
    seq = store.seq
    ordered = sorted(objects, key=lambda o: (o.get("created", 0), seq.get(o["id"], 0)))
    ordered.reverse()
    if params.get("starting_after") and params.get("ending_before"):
        raise invalid(
            "You may only specify one of these parameters: ending_before, starting_after.",
            param="ending_before",
        )
    if params.get("starting_after"):
        start = _position(ordered, params["starting_after"], "starting_after") + 1
        page = ordered[start : start + limit]
        has_more = start + limit < len(ordered)
    elif params.get("ending_before"):
        end = _position(ordered, params["ending_before"], "ending_before")
        page = ordered[max(0, end - limit) : end]
        has_more = end - limit > 0
    else:
        page = ordered[:limit]
        has_more = len(ordered) > limit
    return {
        "object": "list",
        "data": [store.render(o) for o in page],
        "has_more": has_more,
        "url": url,
    }


def _created_range(ordered: list, created: Any) -> tuple[int, int]:
    """The index range of `ordered` (sorted keys) whose `created` matches the filter."""
    low, high = 0, len(ordered)
    if created in (None, ""):
        return low, high
    if not isinstance(created, dict):
        created = {"gte": created, "lte": created}
    for op, raw in created.items():
        if op not in ("gt", "gte", "lt", "lte"):
            raise parameter_unknown(f"created[{op}]")
        bound = as_int(raw, f"created[{op}]")
        # (t,) sorts before every key created at t, so bisect finds the first of them.
        if op == "gt":
            low = max(low, bisect_left(ordered, (bound + 1,)))
        elif op == "gte":
            low = max(low, bisect_left(ordered, (bound,)))
        elif op == "lt":
            high = min(high, bisect_left(ordered, (bound,)))
        else:
            high = min(high, bisect_left(ordered, (bound + 1,)))
    return low, high


def list_ordered(
    store: Store,
    object_type: str,
    url: str,
    params: JSON,
    keep: Callable[[JSON], bool] | None = None,
) -> JSON:
    """Stripe's list object over every object of a type that `keep` accepts (and
    `params["created"]` matches), newest first, reading only about one page."""
    limit = _limit(params)
    if params.get("starting_after") and params.get("ending_before"):
        raise invalid(
            "You may only specify one of these parameters: ending_before, starting_after.",
            param="ending_before",
        )
    ordered = store.ordered(object_type)
    low, high = _created_range(ordered, params.get("created"))
    objects = store.objects
    backwards = bool(params.get("ending_before"))
    for param in ("starting_after", "ending_before"):
        if params.get(param):
            cursor = as_string(params[param], param)
            key = store.order_key(cursor)
            if key is None or objects[cursor]["object"] != object_type:
                raise missing("object", cursor, param)
            if param == "starting_after":
                high = min(high, bisect_left(ordered, key))
            else:
                low = max(low, bisect_right(ordered, key))
    # Newest first from the cursor; after `ending_before`, oldest first from it.
    indexes = range(low, high) if backwards else range(high - 1, low - 1, -1)
    found: list[JSON] = []
    for index in indexes:
        obj = objects[ordered[index][2]]
        if keep is None or keep(obj):
            found.append(obj)
            if len(found) > limit:
                break
    has_more = len(found) > limit
    page = found[:limit]
    if backwards:
        page.reverse()
    return {
        "object": "list",
        "data": [store.render(o) for o in page],
        "has_more": has_more,
        "url": url,
    }


def _position(ordered: list[JSON], cursor: str, param: str) -> int:
    cursor = as_string(cursor, param)
    for index, obj in enumerate(ordered):
        if obj["id"] == cursor:
            return index
    raise missing("object", cursor, param)


def simple_list(
    store: Store,
    object_type: str,
    url: str,
    params: JSON,
    filters: tuple[str, ...] = (),
    accepted: tuple[str, ...] = (),
) -> JSON:
    """A list endpoint: equality filters on `filters`, `created` ranges, pagination."""
    check_params(params, LIST_PARAMS | {"created", *filters, *accepted})
    indexed = INDEXED_FIELDS.get(object_type, ())
    # Start from an index when a filter has one, so one customer's list stays cheap.
    start = next((f for f in filters if f in indexed and params.get(f)), None)
    if start is None:
        wanted = {f: params[f] for f in filters if params.get(f)}

        def keep(obj: JSON) -> bool:
            return all(obj.get(f) == v for f, v in wanted.items())

        return list_ordered(store, object_type, url, params, keep if wanted else None)
    objects = store.where(object_type, start, params[start])
    for field in filters:
        if params.get(field) and field != start:
            objects = [o for o in objects if o.get(field) == params[field]]
    matches = created_filter(params.get("created"))
    objects = [o for o in objects if matches(o["created"])]
    return list_response(store, url, objects, params)


def expand(store: Store, result: JSON, paths: Any) -> JSON:
    """Apply `expand[]` paths ('customer', 'data.items.data.price.product', ...)."""
    if isinstance(paths, str):
        paths = [paths]
    if not isinstance(paths, list):
        raise invalid("Invalid array", param="expand")
    for path in paths:
        parts = as_string(path, "expand").split(".")
        depth = len([p for p in parts if p != "data"])
        if depth > MAX_EXPAND_DEPTH:
            raise invalid(
                f"You cannot expand more than {MAX_EXPAND_DEPTH} levels of a property."
                f" Property: {path}",
                param="expand",
            )
        _expand_node(store, result, parts, path)
    return result


def _expand_node(store: Store, node: Any, parts: list[str], path: str) -> None:
    if not parts or node is None:
        return
    head, rest = parts[0], parts[1:]
    if isinstance(node, list):
        for item in node:
            _expand_node(store, item, parts, path)
        return
    if not isinstance(node, dict):
        raise invalid(f"This property cannot be expanded ({path}).", param="expand")
    if node.get("object") == "list" and head == "data":
        for item in node["data"]:
            _expand_node(store, item, rest, path)
        if not node["data"] and rest:
            _check_field(store, _sample(store, node.get("url") or ""), rest[0])
        return
    extra = _expand_extra(store, node, head)
    if extra is not NOT_EXPANDABLE:
        node[head] = extra
    elif head not in node:
        raise invalid(f"This property cannot be expanded ({head}).", param="expand")
    value = node[head]
    if isinstance(value, str):
        node[head] = _expanded(store, value, head)
    elif isinstance(value, list) and any(isinstance(v, str) for v in value):
        # A list of ids (an invoice's or subscription's `discounts`).
        node[head] = [
            _expanded(store, v, head) if isinstance(v, str) else v for v in value
        ]
    _expand_node(store, node[head], rest, path)


def _check_field(store: Store, sample: JSON | None, field: str) -> None:
    """Stripe refuses a path its objects do not have even when a list is empty."""
    if (
        sample is not None
        and field not in sample
        and _expand_extra(store, sample, field) is NOT_EXPANDABLE
    ):
        raise invalid(f"This property cannot be expanded ({field}).", param="expand")


def _sample(store: Store, url: str) -> JSON | None:
    """A copy of any object of the type a list URL lists ('/v1/checkout/sessions':
    'checkout.session'), or a blank one, or None when that is not known."""
    name = url.partition("?")[0].removeprefix("/v1/").replace("/", ".")
    object_type = name.removesuffix("s")
    stored = store.by_type.get(object_type)
    if stored:
        return store.render(next(iter(stored.values())))
    template = TEMPLATES.get(object_type)
    return template() if template else None


def _expanded(store: Store, object_id: str, head: str) -> JSON:
    target = store.find(object_id)
    if target is None:
        raise invalid(f"This property cannot be expanded ({head}).", param="expand")
    return store.render(target)


def _expand_extra(store: Store, node: JSON, field: str) -> Any:
    """Fields Stripe includes only when expanded (line items, price tiers, an
    invoice's payments, Checkout's discount breakdown, a coupon's products)."""
    kind = node.get("object")
    if kind == "checkout.session" and field == "line_items":
        items = store.private(node["id"]).get("line_items", [])
        return {
            "object": "list",
            "data": clone(items),
            "has_more": False,
            "url": f"/v1/checkout/sessions/{node['id']}/line_items",
        }
    if kind == "price" and field == "tiers":
        return clone(store.private(node["id"]).get("tiers"))
    if kind == "price" and field == "currency_options":
        option = {
            "custom_unit_amount": None,
            "tax_behavior": node["tax_behavior"],
            "unit_amount": node["unit_amount"],
            "unit_amount_decimal": node["unit_amount_decimal"],
        }
        return {node["currency"]: option}
    if kind == "invoice" and field == "payments":
        links = store.oldest_first(
            store.where("invoice_payment", "invoice", node["id"])
        )
        return {
            "object": "list",
            "data": [store.render(link) for link in reversed(links)],
            "has_more": False,
            "url": f"/v1/invoice_payments?invoice={node['id']}",
        }
    if kind == "customer" and field in ("sources", "tax_ids"):
        return shapes.empty_list(f"/v1/customers/{node['id']}/{field}")
    if kind == "checkout.session" and field == "total_details":
        # Its `breakdown` is shown only when expanded (dj-stripe expands it).
        found = _with_discounts(store, store.private(node["id"]).get("breakdown", []))
        return dict(node["total_details"], breakdown={"discounts": found, "taxes": []})
    if field == "breakdown" and "amount_discount" in node and "breakdown" not in node:
        return {"discounts": [], "taxes": []}
    if kind == "item" and field == "discounts":
        return _with_discounts(store, store.private(node["id"]).get("discounts", []))
    if kind == "coupon" and field == "applies_to":
        return clone(store.private(node["id"]).get("applies_to"))
    return NOT_EXPANDABLE


def _with_discounts(store: Store, amounts: list[JSON]) -> list[JSON]:
    """[{amount, discount id}] with each discount object in place of its id."""
    return [
        {"amount": a["amount"], "discount": store.render(store.objects[a["discount"]])}
        for a in amounts
    ]
