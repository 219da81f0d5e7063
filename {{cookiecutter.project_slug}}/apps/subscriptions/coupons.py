"""Coupons, promotion codes and discounts kept in step with Stripe.

dj-stripe's own webhook handlers sync `coupon.*` and `promotion_code.*` events into
its `Coupon` and `PromotionCode` rows; `refresh_coupons` (a command, and a daily
Celery beat task) lists both from Stripe and brings the local rows in step with what
the webhooks missed: created, changed and deleted at Stripe.

Stripe serves a discount only inside the object it applies to. Every re-read of a
subscription expands its discounts (`SUBSCRIPTION_EXPAND`), and `store_discounts`
keeps each as a dj-stripe `Discount` row with its coupon: the pages read them by
id, and a discount keeps its terms after its coupon is deleted, as Stripe keeps
applying it.
"""

import json
from dataclasses import dataclass, field

import stripe
from djstripe.models import Coupon, Discount, PromotionCode
from djstripe.settings import djstripe_settings

from .stripe_client import api_key, stripe_options
from .stripe_data import stripe_id

# What a subscription is re-read with: its discounts, their coupons and codes.
SUBSCRIPTION_EXPAND = ["discounts.source.coupon", "discounts.promotion_code"]

PAGE_SIZE = 100


def _plain(data) -> dict:
    """A stripe-python object as plain JSON data, nested objects too."""
    return json.loads(str(data)) if hasattr(data, "to_dict") else dict(data)


def store_discounts(subscription_data) -> int:
    """Keep the expanded discounts of a Stripe subscription as local rows (ids
    alone are left as they are); how many were stored."""
    stored = 0
    for discount in subscription_data.get("discounts") or []:
        if isinstance(discount, str) or not discount.get("id"):
            continue
        data = _plain(discount)
        # dj-stripe keeps the code in a short text column: its id, not the object.
        data["promotion_code"] = stripe_id(data.get("promotion_code"))
        Discount.sync_from_stripe_data(data, api_key=api_key())
        stored += 1
    return stored


@dataclass
class RefreshCounts:
    """What one refresh did to the local rows of one kind of object."""

    listed: int = 0
    created: int = 0
    updated: int = 0
    deleted: int = 0
    unchanged: int = 0

    def as_dict(self) -> dict:
        return dict(vars(self))


@dataclass
class RefreshResult:
    coupons: RefreshCounts = field(default_factory=RefreshCounts)
    promotion_codes: RefreshCounts = field(default_factory=RefreshCounts)

    def as_dict(self) -> dict:
        return {
            "coupons": self.coupons.as_dict(),
            "promotion_codes": self.promotion_codes.as_dict(),
        }


def _refresh(model, listing, counts, *, dry_run, progress) -> None:
    livemode = djstripe_settings.STRIPE_LIVE_MODE
    local = {
        row.id: row.stripe_data
        for row in model.objects.filter(livemode=livemode).only("id", "stripe_data")
    }
    seen = set()
    for data in listing.auto_paging_iter():
        counts.listed += 1
        seen.add(data["id"])
        stored = local.get(data["id"])
        if stored is not None and stored == _plain(data):
            counts.unchanged += 1
        else:
            if stored is None:
                counts.created += 1
            else:
                counts.updated += 1
            if not dry_run:
                model.sync_from_stripe_data(data, api_key=api_key())
        if counts.listed % PAGE_SIZE == 0:
            progress(counts)
    gone = [object_id for object_id in local if object_id not in seen]
    counts.deleted = len(gone)
    if gone and not dry_run:
        model.objects.filter(livemode=livemode, id__in=gone).delete()
    progress(counts)


def refresh_coupons(*, dry_run: bool = False, progress=None) -> RefreshResult:
    """List every coupon and promotion code from Stripe and bring the local rows in
    step: new and changed ones synced, the ones Stripe no longer has deleted.

    With `dry_run`, only count what would change. `progress(kind, counts)` is
    called after each page and at the end of each kind.
    """
    progress = progress or (lambda kind, counts: None)
    result = RefreshResult()
    _refresh(
        Coupon,
        # Expanded as dj-stripe's webhook handler stores them: the products a
        # coupon is limited to come only so.
        stripe.Coupon.list(
            limit=PAGE_SIZE, expand=["data.applies_to"], **stripe_options()
        ),
        result.coupons,
        dry_run=dry_run,
        progress=lambda counts: progress("coupons", counts),
    )
    _refresh(
        PromotionCode,
        stripe.PromotionCode.list(limit=PAGE_SIZE, **stripe_options()),
        result.promotion_codes,
        dry_run=dry_run,
        progress=lambda counts: progress("promotion codes", counts),
    )
    return result
