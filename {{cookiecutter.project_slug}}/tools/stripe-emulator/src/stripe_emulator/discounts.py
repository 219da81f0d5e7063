"""Discounts: coupons, given directly or through promotion codes, applied to
subscriptions, what they take off each invoice, and when they end.

A subscription's `discounts` lists discount ids (`expand[]=discounts` shows the
objects: Stripe serves discounts no other way). Each invoice of the subscription
carries the discounts active when it is made: `discounts`,
`total_discount_amounts`, and on each line `discount_amounts` (the invoice's
discounts spread over its lines; see `amounts.coupon_amounts`). Several discounts
apply one after the other, each to what the ones before left.

A `once` discount applies to the first invoice it takes something off (a trial's
zero invoice does not use it up) and ends as the next invoice is made; a
`repeating` one ends at its `end`, `duration_in_months` after it started, so
invoices made from then on are not discounted; a `forever` one stays. Each new discount sends
`customer.discount.created` and each end `customer.discount.deleted`. Ended
discounts stay in the store: the invoices they discounted still expand them.
"""

from typing import Any

from . import amounts, coupons, money_shapes
from .errors import invalid, missing
from .events import emit
from .params import as_list, check_nested, check_params, clone
from .periods import add_interval
from .shapes import JSON
from .store import Store

MAX_DISCOUNTS = 20
# (coupon, promotion code or None) of a discount to create, or an existing
# discount (by id) to keep.
Spec = tuple[JSON | None, JSON | None, str | None]


def discount_specs(
    store: Store,
    raw: Any,
    param: str,
    customer_id: str | None,
    purchase: tuple[int, str],
    when: int,
    keep: tuple[str, ...] = (),
) -> list[Spec]:
    """Checked `discounts[...]` entries: each `coupon`, `promotion_code`, or an
    existing `discount` among `keep`; `purchase` is (amount before discounts,
    currency) for the promotion codes' minimum amounts."""
    specs: list[Spec] = []
    entries = as_list(raw, param)
    if len(entries) > MAX_DISCOUNTS:
        raise invalid(f"At most {MAX_DISCOUNTS} discounts can be applied.", param=param)
    for index, entry in enumerate(entries):
        where = f"{param}[{index}]"
        fields = check_nested(entry, {"coupon", "promotion_code", "discount"}, where)
        given = [k for k in ("coupon", "promotion_code", "discount") if fields.get(k)]
        if len(given) != 1:
            raise invalid(
                "Each discount needs exactly one of coupon, promotion_code or"
                " discount.",
                param=where,
            )
        kind = given[0]
        if kind == "discount":
            if fields["discount"] not in keep:
                raise missing("discount", fields["discount"], f"{where}[discount]")
            specs.append((None, None, fields["discount"]))
        elif kind == "coupon":
            currency = purchase[1]
            coupon = coupons.usable_coupon(
                store, fields["coupon"], f"{where}[coupon]", currency, when
            )
            specs.append((coupon, None, None))
        else:
            promo = store.fetch(
                "promotion_code", fields["promotion_code"], f"{where}[promotion_code]"
            )
            coupon = coupons.usable_promotion_code(
                store, promo, f"{where}[promotion_code]", customer_id, purchase, when
            )
            specs.append((coupon, promo, None))
    chosen = [c["id"] for c, _, _ in specs if c is not None]
    if len(chosen) != len(set(chosen)):
        raise invalid("The same coupon cannot be applied twice.", param=param)
    return specs


def new_discount(
    store: Store, coupon: JSON, promo: JSON | None, customer_id: str | None, when: int
) -> JSON:
    """A discount of the coupon from `when`, attached to nothing yet (not counted
    as a redemption: see `redeem`)."""
    found = money_shapes.discount(
        store.new_id("discount"),
        when,
        coupon["id"],
        customer_id,
        promo["id"] if promo else None,
    )
    if coupon["duration"] == "repeating":
        found["end"] = add_interval(when, "month", coupon["duration_in_months"])
    store.save(found)
    # The coupon's terms as they were: the discount outlives a deleted coupon.
    terms = {k: coupon[k] for k in ("percent_off", "amount_off", "currency")}
    terms["duration"] = coupon["duration"]
    terms["products"] = (
        store.private(coupon["id"]).get("applies_to", {}).get("products", [])
    )
    store.private(found["id"])["terms"] = terms
    return found


def redeem(store: Store, found: JSON) -> None:
    """Count the discount as a redemption of its coupon and promotion code."""
    coupons.record_redemption(store, found["source"]["coupon"], found["promotion_code"])


def terms(store: Store, discount_id: str) -> JSON:
    """What a discount takes off: percent_off or amount_off (+ currency), products."""
    return store.private(discount_id)["terms"]


# -- subscriptions ---------------------------------------------------------------


def set_subscription_discounts(
    store: Store, sub: JSON, specs: list[Spec], when: int
) -> None:
    """Make `specs` the subscription's discounts: new ones are created
    (`customer.discount.created`), kept ones stay, the others end."""
    wanted: list[str] = []
    for coupon, promo, existing in specs:
        if existing is not None:
            wanted.append(existing)
            continue
        assert coupon is not None
        found = new_discount(store, coupon, promo, sub["customer"], when)
        found["subscription"] = sub["id"]
        store.save(found)
        redeem(store, found)
        wanted.append(found["id"])
        emit(store, "customer.discount.created", found, created=when)
    for discount_id in list(sub["discounts"]):
        if discount_id not in wanted:
            end_discount(store, store.objects[discount_id], when)
    sub["discounts"] = wanted


def end_discount(store: Store, found: JSON, when: int) -> None:
    """The discount stops applying (used up, run out or removed)."""
    sub = store.find(found["subscription"])
    if sub is not None and found["id"] in sub["discounts"]:
        sub["discounts"].remove(found["id"])
    if store.private(found["id"]).get("ended"):
        return
    store.private(found["id"])["ended"] = when
    emit(store, "customer.discount.deleted", found, created=when)


def subscription_discount_steps(store: Store, sub: JSON) -> list[tuple[int, str]]:
    """(when, discount id) of each repeating discount of the subscription to end."""
    steps = []
    for discount_id in sub["discounts"]:
        found = store.find(discount_id)
        if found is not None and found["end"] is not None:
            steps.append((found["end"], discount_id))
    return steps


def run_out(store: Store, found: JSON, when: int) -> None:
    """A repeating discount reached its `end`: it leaves its subscription."""
    sub = store.find(found["subscription"])
    before = clone(sub["discounts"]) if sub is not None else None
    end_discount(store, found, when)
    if sub is not None and before != sub["discounts"]:
        emit(
            store,
            "customer.subscription.updated",
            sub,
            {"discounts": before},
            created=when,
        )


def delete_subscription_discount(store: Store, params: JSON, id: str) -> JSON:
    """`DELETE /v1/subscriptions/{id}/discount`: remove its discounts now."""
    check_params(params, set())
    sub = store.fetch("subscription", id)
    if not sub["discounts"]:
        raise missing("discount on subscription", id)
    before = clone(sub["discounts"])
    first = clone(store.objects[before[0]])
    now = store.now(sub["customer"])
    for discount_id in before:
        end_discount(store, store.objects[discount_id], now)
    emit(
        store,
        "customer.subscription.updated",
        sub,
        {"discounts": before},
        created=now,
    )
    return money_shapes.deleted_discount(first)


# -- invoices --------------------------------------------------------------------


def active_discounts(store: Store, sub: JSON | None, when: int) -> list[JSON]:
    """The subscription's discounts that apply to an invoice made at `when`.

    A `once` discount that took something off an earlier invoice ends here: it
    stays on the subscription until its next invoice, as Stripe shows it.
    """
    if sub is None:
        return []
    for discount_id in list(sub.get("discounts", [])):
        if store.private(discount_id).get("used_on"):
            end_discount(store, store.objects[discount_id], when)
    found = [store.objects[i] for i in sub.get("discounts", [])]
    return [d for d in found if d["end"] is None or when < d["end"]]


def _line_product(store: Store, line: JSON) -> str | None:
    price = store.find(line["pricing"]["price_details"]["price"])
    return price["product"] if price else None


def apply_to_lines(
    store: Store, lines: list[JSON], currency: str, applied: list[JSON]
) -> list[JSON]:
    """Spread the discounts over the lines (`discount_amounts`, each after the ones
    before); returns the totals per discount (`total_discount_amounts`)."""
    left = [line["amount"] for line in lines]
    totals = []
    for found in applied:
        rules = terms(store, found["id"])
        products = rules["products"]
        eligible = [
            line["discountable"]
            and (not products or _line_product(store, line) in products)
            for line in lines
        ]
        if rules["currency"] and rules["currency"] != currency:
            eligible = [False] * len(lines)
        cut = amounts.coupon_amounts(left, eligible, rules)
        for index, line in enumerate(lines):
            line["discount_amounts"].append(
                {"amount": cut[index], "discount": found["id"]}
            )
            left[index] -= cut[index]
        totals.append({"amount": sum(cut), "discount": found["id"]})
    return totals


def discount_invoice(store: Store, invoice: JSON, applied: list[JSON]) -> int:
    """Apply the discounts to a new invoice's lines; returns the total taken off."""
    lines = invoice["lines"]["data"]
    totals = apply_to_lines(store, lines, invoice["currency"], applied)
    invoice["discounts"] = [d["id"] for d in applied]
    invoice["total_discount_amounts"] = totals
    return sum(total["amount"] for total in totals)


def use_up_once(store: Store, invoice: JSON) -> None:
    """Mark the `once` discounts that took something off this invoice as used:
    the subscription's next invoice ends them (see `active_discounts`)."""
    for total in invoice["total_discount_amounts"]:
        found = store.objects[total["discount"]]
        once = terms(store, found["id"])["duration"] == "once"
        if once and total["amount"] > 0 and found["subscription"]:
            store.private(found["id"])["used_on"] = invoice["id"]
