"""Reconciliation: polling Stripe for what webhooks should have told the site.

A lost webhook (an endpoint down for days, disabled, or misconfigured) leaves a
subscription's local rows behind Stripe: canceled there, still open here.
`reconcile_subscriptions` lists every subscription of the account once (ended ones
too), a page of 100 per request, and compares each with what the site holds: the
state it last acted on (`SubscriptionState`), its dj-stripe row and the
subscriber's link. Only those that differ are applied, through
`transitions.apply_subscription` with the listed object itself, so their signals are
the ones a webhook would have sent, once: whichever of the webhook, a redelivery or
this poll comes first sends them; the others find nothing new.

A run costs one Stripe request per page of 100, plus what applying a changed
subscription needs (its card, read when it is linked; nothing more when dj-stripe
already has its customer and prices), and a few SQL queries per page plus those of
each change: a subscription that did not change costs nothing beyond its page.
"""

import contextlib
import enum
import logging
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import stripe
from djstripe.models import Customer, Subscription

from .duplicates import settle_duplicate_later
from .models import SubscriptionState
from .run_locks import run_lock
from .stripe_client import stripe_options
from .stripe_data import (
    current_period_end,
    is_active_status,
    is_ended_status,
    stripe_id,
)
from .subscribers import get_subscriber_model
from .transitions import (
    SNAPSHOT_FIELDS,
    Snapshot,
    apply_subscription,
    transition_signals,
)

logger = logging.getLogger(__name__)

# Stripe's largest page: the fewest requests for a whole account.
PAGE_SIZE = 100
LOCK_NAME = "apps.subscriptions.reconcile_subscriptions"


class Drift(enum.StrEnum):
    """Why a subscription is applied; a change of status is named by the new status."""

    NEW = "new"  # never applied by the site
    UPDATED = "updated"  # plan, seats, scheduled end or pause changed
    LINK = "link"  # its subscriber's link is wrong (set, or cleared)
    MIRROR = "mirror"  # only the dj-stripe row is behind (period, invoice, card)


@dataclass
class SubscriptionResult:
    """What a run found, and did, for one listed subscription that differed."""

    subscription_id: str
    kind: str
    before: str
    after: str
    signals: list[str] = field(default_factory=list)
    # Set when a webhook applied a newer copy after the page was read.
    skipped: bool = False
    failed: str = ""


@dataclass
class ReconcileCounts:
    checked: int = 0
    unchanged: int = 0
    # Applied (or, in a dry run, to apply) by kind: a status, or a `Drift`.
    changed: Counter = field(default_factory=Counter)
    # Subscriptions of customers no subscriber of this site owns: left alone.
    unknown: int = 0
    # Changed meanwhile by a webhook: left to it, looked at again next run.
    skipped: int = 0
    failed: int = 0
    pages: int = 0
    # True when another run held the lock, so this one did nothing.
    locked_out: bool = False

    @property
    def changed_total(self) -> int:
        return sum(self.changed.values())

    def as_dict(self) -> dict:
        return {
            "checked": self.checked,
            "unchanged": self.unchanged,
            "changed": dict(self.changed),
            "unknown": self.unknown,
            "skipped": self.skipped,
            "failed": self.failed,
            "pages": self.pages,
            "locked_out": self.locked_out,
        }


def list_subscription_pages(page_size: int = PAGE_SIZE) -> Iterator[list]:
    """Every subscription of the account, ended ones too, a page per request."""
    starting_after = {}
    while True:
        page = stripe.Subscription.list(
            status="all", limit=page_size, **starting_after, **stripe_options()
        )
        if page.data:
            yield page.data
        if not page.has_more or not page.data:
            return
        starting_after = {"starting_after": page.data[-1].id}


def _recorded(state: SubscriptionState | None) -> Snapshot | None:
    if state is None or not state.status:
        return None
    return Snapshot(**{name: getattr(state, name) for name in SNAPSHOT_FIELDS})


def _mirrored(data) -> tuple:
    """What the pages and gates read from a dj-stripe row besides the snapshot: a
    row that differs only here is synced, and sends nothing."""
    return (
        Snapshot.of(data),
        current_period_end(data),
        data.get("trial_end"),
        data.get("ended_at"),
        stripe_id(data.get("latest_invoice")),
        stripe_id(data.get("default_payment_method")),
    )


def _subscribers_of(page: list, linked: dict[str, object]) -> dict[str, object]:
    """The subscriber pk of each listed subscription, or None, found as
    `subscribers.find_subscriber` finds it (linked to it, owner of its customer,
    named by its metadata), in a few queries for the whole page."""
    model = get_subscriber_model()
    found = {sub.id: linked[sub.id] for sub in page if sub.id in linked}
    rest = [sub for sub in page if sub.id not in found]
    customer_ids = {stripe_id(sub.get("customer")) for sub in rest} - {None}
    by_customer = {}
    if customer_ids:
        by_customer = dict(
            Customer.objects.filter(
                id__in=customer_ids, subscriber__isnull=False
            ).values_list("id", "subscriber_id")
        )
        # A subscriber whose own `customer` it is comes first, as in
        # find_subscriber (the lowest pk of several, written last).
        by_customer.update(
            model._default_manager.filter(customer__id__in=customer_ids)
            .order_by("-pk")
            .values_list("customer__id", "pk")
        )
    label = model._meta.label_lower
    references = {}
    for sub in rest:
        if stripe_id(sub.get("customer")) in by_customer:
            found[sub.id] = by_customer[stripe_id(sub.get("customer"))]
        else:
            reference = (sub.get("metadata") or {}).get("subscriber") or ""
            found_label, _, pk = reference.rpartition(":")
            references[sub.id] = pk if found_label == label else None
    existing = {}
    wanted = set(references.values()) - {None}
    if wanted:
        with contextlib.suppress(ValueError, TypeError):  # no pk of this model
            existing = {
                str(pk): pk
                for pk in model._default_manager.filter(pk__in=wanted).values_list(
                    "pk", flat=True
                )
            }
    for sub_id, pk in references.items():
        found[sub_id] = existing.get(pk)
    return found


def _active_links(subscriber_pks) -> set:
    """Those of the subscribers whose link points at a subscription that counts as
    active by its local row (gates read the same)."""
    if not subscriber_pks:
        return set()
    rows = (
        get_subscriber_model()
        ._default_manager.filter(pk__in=subscriber_pks, subscription__isnull=False)
        .values_list("pk", "subscription__stripe_data__status")
    )
    return {pk for pk, status in rows if is_active_status(status)}


@dataclass
class _Drifted:
    data: object
    kind: str
    before: Snapshot | None
    after: Snapshot
    version: int | None


def _drift_of(data, state, local, linked_pk, subscriber_pk, active_links):
    """The kind of drift of one listed subscription, or None when in step."""
    after = Snapshot.of(data)
    before = _recorded(state)
    if before is None and not is_ended_status(after.status):
        return Drift.NEW
    if before is not None and before.status != after.status:
        return after.status
    if before is not None and before != after:
        return Drift.UPDATED
    if is_ended_status(after.status) and linked_pk is not None:
        return Drift.LINK
    if (
        is_active_status(after.status)
        and linked_pk is None
        and subscriber_pk not in active_links
    ):
        return Drift.LINK
    if local is None or _mirrored(local) != _mirrored(data):
        return Drift.MIRROR
    return None


def _find_drift(page: list, counts: ReconcileCounts) -> list[_Drifted]:
    """Compare a page with the local rows; count the unchanged and unknown ones."""
    ids = [sub.id for sub in page]
    states = {
        s.subscription_id: s
        for s in SubscriptionState.objects.filter(subscription_id__in=ids)
    }
    local = dict(
        Subscription.objects.filter(id__in=ids).values_list("id", "stripe_data")
    )
    linked = dict(
        get_subscriber_model()
        ._default_manager.filter(subscription__id__in=ids)
        .values_list("subscription__id", "pk")
    )
    # The subscriber is looked up only where it matters: never applied (is it
    # ours?) or live but linked to nobody (is its subscriber linked elsewhere?).
    unsure = [
        sub
        for sub in page
        if _recorded(states.get(sub.id)) is None
        or (is_active_status(sub.get("status")) and sub.id not in linked)
    ]
    subscribers = _subscribers_of(unsure, linked) if unsure else {}
    active_links = _active_links(
        {pk for sub_id, pk in subscribers.items() if sub_id not in linked} - {None}
    )
    drifted = []
    for sub in page:
        counts.checked += 1
        state = states.get(sub.id)
        if sub.id in subscribers and subscribers[sub.id] is None:
            counts.unknown += 1
            # One line per run says how many (an account may bill for other sites).
            logger.debug(
                "Reconciliation skipped %s: customer %s belongs to no subscriber",
                sub.id,
                stripe_id(sub.get("customer")),
            )
            continue
        kind = _drift_of(
            sub,
            state,
            local.get(sub.id),
            linked.get(sub.id),
            subscribers.get(sub.id),
            active_links,
        )
        if kind is None:
            counts.unchanged += 1
            continue
        drifted.append(
            _Drifted(
                sub,
                str(kind),
                _recorded(state),
                Snapshot.of(sub),
                state.version if state else None,
            )
        )
    return drifted


def _expected_signals(item: _Drifted) -> list[str]:
    names = [name for name, _ in transition_signals(item.before, item.after, item.data)]
    if item.before is not None and item.before != item.after:
        names.append("subscription_updated")
    return names


def _describe(snapshot: Snapshot | None) -> str:
    return snapshot.status if snapshot is not None else "not seen"


def _reconcile_one(item: _Drifted, *, dry_run: bool) -> SubscriptionResult:
    """Apply one drifted subscription (unless `dry_run`); an error is recorded."""
    result = SubscriptionResult(
        item.data.id, item.kind, _describe(item.before), item.after.status
    )
    if dry_run:
        result.signals = _expected_signals(item)
        return result
    version = (
        SubscriptionState.objects.filter(subscription_id=item.data.id)
        .values_list("version", flat=True)
        .first()
    )
    if version != item.version:
        # A webhook applied a newer copy since the page was read: the listed one
        # is older, and applying it would undo that change.
        result.skipped = True
        return result
    try:
        change = apply_subscription(item.data, expected_version=item.version or 0)
    except Exception as exc:
        logger.exception("Reconciliation failed for %s", item.data.id)
        result.failed = f"{type(exc).__name__}: {exc}"
        return result
    if change.duplicate_of is not None:
        settle_duplicate_later(change)
    result.signals = change.sent
    return result


def reconcile_subscriptions(
    *,
    dry_run: bool = False,
    report: Callable[[SubscriptionResult], None] | None = None,
    progress: Callable[[ReconcileCounts], None] | None = None,
    page_size: int = PAGE_SIZE,
) -> ReconcileCounts:
    """List every Stripe subscription once and apply those the site is behind on.

    `report` is called with each subscription that differed, `progress` after each
    page. Stripe errors while listing propagate (nothing more can be compared);
    an error applying one subscription is logged and counted as failed.
    """
    counts = ReconcileCounts()
    # A dry run writes nothing, so it needs no lock.
    lock = contextlib.nullcontext(True) if dry_run else run_lock(LOCK_NAME)
    with lock as acquired:
        if not acquired:
            logger.info("Reconciliation skipped: another run holds the lock")
            counts.locked_out = True
            return counts
        for page in list_subscription_pages(page_size):
            counts.pages += 1
            for item in _find_drift(page, counts):
                result = _reconcile_one(item, dry_run=dry_run)
                if result.failed:
                    counts.failed += 1
                elif result.skipped:
                    counts.skipped += 1
                else:
                    counts.changed[result.kind] += 1
                if report is not None:
                    report(result)
            if progress is not None:
                progress(counts)
    logger.info(
        "Reconciliation%s: checked=%s unchanged=%s changed=%s "
        "unknown (customers of no subscriber)=%s skipped=%s failed=%s",
        " (dry run)" if dry_run else "",
        counts.checked,
        counts.unchanged,
        dict(counts.changed),
        counts.unknown,
        counts.skipped,
        counts.failed,
    )
    return counts
