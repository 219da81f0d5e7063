"""Reads of discounts for pages: what a subscription's discounts take off, and what
an invoice's took off, in words ("LAUNCH20: 20% off for 3 months").

Local rows only (dj-stripe's `Discount`, `Coupon` and `PromotionCode`), in a few
queries whatever the number of discounts. A discount's coupon is read from the
discount itself when Stripe's answer expanded it (`source.coupon`, as the site's
own writes and its webhook handler store it: see `lifecycle.apply_promotion_code`
and `webhooks.follow_discount`), else from the coupon's row: so a discount keeps its
terms after its coupon is deleted in Stripe, as Stripe keeps applying it.
"""

from dataclasses import dataclass
from datetime import UTC, datetime

from djstripe.models import Coupon, Discount, Invoice, PromotionCode

from .money import format_amount
from .price_math import coupon_label
from .stripe_data import stripe_id


@dataclass(frozen=True)
class DiscountSummary:
    """One discount, as a page shows it.

    `name` is the promotion code the customer used ("LAUNCH20"), else the
    coupon's name or id; `terms` what it takes off and for how long ("20% off for 3
    months"; "" when its coupon is unknown here); `coupon` the coupon's data, for
    the arithmetic. A `repeating` discount `ends_at` a date, `months_left` until
    then. A `once` discount is `used` once an invoice took something off with it
    (Stripe keeps it on the subscription until the next invoice). On an invoice,
    `amount` is what it took off, in `currency`.
    """

    id: str
    name: str
    terms: str
    coupon: dict
    ends_at: datetime | None = None
    months_left: int | None = None
    used: bool = False
    amount: int | None = None
    currency: str = ""

    @property
    def label(self) -> str:
        """Name and terms: "LAUNCH20: 20% off for 3 months" (or the name alone)."""
        return f"{self.name}: {self.terms}" if self.terms else self.name

    @property
    def amount_off(self) -> str:
        """What it took off an invoice, formatted ("" when not on an invoice)."""
        if self.amount is None:
            return ""
        return format_amount(self.amount, self.currency)


def _coupon_ref(discount_data):
    """The coupon of a Stripe-shaped discount: an id, or the expanded coupon."""
    source = discount_data.get("source") or {}
    # Older API versions had `coupon` (always expanded) instead of `source`.
    return source.get("coupon") or discount_data.get("coupon")


def _load(references) -> list[tuple[dict, dict, str]]:
    """(discount data, coupon data, code) for each discount reference (an id or an
    expanded discount), in order, skipping those with no local data at all. At
    most three queries."""
    given = {stripe_id(ref): ref for ref in references if stripe_id(ref)}
    rows = {}
    missing = [i for i, ref in given.items() if isinstance(ref, str)]
    if missing:
        rows = {
            row.id: row.stripe_data
            for row in Discount.objects.filter(id__in=missing).only("id", "stripe_data")
        }
    found = {
        discount_id: rows.get(discount_id) if isinstance(ref, str) else ref
        for discount_id, ref in given.items()
    }
    found = {key: data for key, data in found.items() if data}
    coupon_ids = {
        ref
        for data in found.values()
        if isinstance(ref := _coupon_ref(data), str) and ref
    }
    coupons = {}
    if coupon_ids:
        coupons = {
            row.id: row.stripe_data
            for row in Coupon.objects.filter(id__in=coupon_ids).only(
                "id", "stripe_data"
            )
        }
    promotion_ids = {stripe_id(d.get("promotion_code")) for d in found.values()}
    promotion_ids.discard(None)
    codes = {}
    if promotion_ids:
        codes = {
            row.id: row.stripe_data.get("code") or ""
            for row in PromotionCode.objects.filter(id__in=promotion_ids).only(
                "id", "stripe_data"
            )
        }
    loaded = []
    for data in found.values():
        ref = _coupon_ref(data)
        coupon = (coupons.get(ref) or {}) if isinstance(ref, str) else (ref or {})
        promotion = data.get("promotion_code")
        code = (
            codes.get(promotion, "")
            if isinstance(promotion, str)
            else (promotion or {}).get("code")
        )
        loaded.append((data, coupon, code or ""))
    return loaded


def _name(coupon: dict, code: str, data: dict) -> str:
    ref = _coupon_ref(data)
    return code or coupon.get("name") or stripe_id(ref) or "Discount"


def _timestamp(value) -> datetime | None:
    return datetime.fromtimestamp(int(value), tz=UTC) if value else None


def months_until(end: datetime, now: datetime) -> int:
    """Whole or part months from `now` to `end`: 3 for exactly three months, 3 for
    two and a half, 0 once it has passed."""
    if end <= now:
        return 0
    months = (end.year - now.year) * 12 + end.month - now.month
    if (end.day, end.timetz()) > (now.day, now.timetz()):
        months += 1
    return max(months, 1)


def _summary(data, coupon, code, now, **extra) -> DiscountSummary:
    ends_at = _timestamp(data.get("end"))
    return DiscountSummary(
        id=data.get("id") or "",
        name=_name(coupon, code, data),
        terms=coupon_label(coupon) if coupon else "",
        coupon=coupon,
        ends_at=ends_at,
        months_left=months_until(ends_at, now) if ends_at else None,
        **extra,
    )


def _used_once(subscription, loaded) -> set[str]:
    """The ids of `once` discounts that an invoice of the subscription already took
    something off with (one query, only when there is such a discount)."""
    once = {
        data["id"]: data.get("start")
        for data, coupon, _ in loaded
        if coupon.get("duration") == "once" and data.get("id")
    }
    if not once:
        return set()
    since = _timestamp(min(start or 0 for start in once.values()))
    invoices = Invoice.objects.filter(subscription__id=subscription.id)
    if since is not None:
        invoices = invoices.filter(created__gte=since)
    used = set()
    for invoice_data in invoices.values_list("stripe_data", flat=True):
        for total in invoice_data.get("total_discount_amounts") or []:
            discount_id = stripe_id(total.get("discount"))
            if discount_id in once and (total.get("amount") or 0) > 0:
                used.add(discount_id)
    return used


def subscription_discounts(subscription, now: datetime) -> list[DiscountSummary]:
    """The discounts on a dj-stripe Subscription row that still apply at `now`, in
    the order Stripe applies them (none without a query when it has none)."""
    references = subscription.stripe_data.get("discounts") or []
    if not references:
        return []
    loaded = _load(references)
    used = _used_once(subscription, loaded)
    summaries = []
    for data, coupon, code in loaded:
        ends_at = _timestamp(data.get("end"))
        if ends_at is not None and ends_at <= now:
            continue  # a repeating discount that ran out
        summaries.append(_summary(data, coupon, code, now, used=data["id"] in used))
    return summaries


def _invoice_data(invoice) -> dict:
    return invoice.stripe_data if hasattr(invoice, "stripe_data") else invoice


def invoice_discounts(invoices, now: datetime | None = None) -> dict[str, list]:
    """Each invoice's discounts by invoice id, with what each took off.

    `invoices` are dj-stripe Invoice rows or Stripe-shaped invoices; at most three
    queries for any number of them.
    """
    now = now or datetime.now(tz=UTC)
    datas = [_invoice_data(invoice) for invoice in invoices]
    references = [ref for data in datas for ref in data.get("discounts") or []]
    loaded = {data["id"]: (data, c, code) for data, c, code in _load(references)}
    result = {}
    for data in datas:
        amounts = {
            stripe_id(total.get("discount")): total.get("amount") or 0
            for total in data.get("total_discount_amounts") or []
        }
        summaries = []
        for ref in data.get("discounts") or []:
            discount_id = stripe_id(ref)
            discount, coupon, code = loaded.get(
                discount_id, ({"id": discount_id}, {}, "")
            )
            summaries.append(
                _summary(
                    discount,
                    coupon,
                    code,
                    now,
                    amount=amounts.get(discount_id, 0),
                    currency=data.get("currency") or "",
                )
            )
        result[data.get("id")] = summaries
    return result


def discount_label(invoice) -> str:
    """What an invoice's discounts took off, in one line, or "" for none:
    "LAUNCH20: 20% off for 3 months (-$9.80)"; several are joined by "; "."""
    data = _invoice_data(invoice)
    summaries = invoice_discounts([data]).get(data.get("id"), [])
    return "; ".join(f"{s.label} (-{s.amount_off})" for s in summaries)


def promotion_code_by_code(code: str) -> dict | None:
    """The local promotion code that a customer's `code` names, in any case: the
    active one when a code was reused."""
    rows = PromotionCode.objects.filter(stripe_data__code__iexact=code).only(
        "id", "stripe_data"
    )
    found = sorted((row.stripe_data for row in rows), key=lambda d: not d.get("active"))
    return found[0] if found else None


def promotion_codes_applied(subscription) -> set[str]:
    """The ids of the promotion codes behind the subscription's discounts."""
    references = subscription.stripe_data.get("discounts") or []
    applied = {
        stripe_id(data.get("promotion_code")) for data, _, _ in _load(references)
    }
    applied.discard(None)
    return applied
