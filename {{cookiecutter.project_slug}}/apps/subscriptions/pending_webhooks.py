"""Missed webhooks: Stripe events that never reached the site, processed late.

Stripe retries a failing delivery for three days, but an event created while the
endpoint is disabled (or deleted, or at a wrong URL) is never delivered, and one
whose processing kept failing may be given up on. `check_pending_webhooks` finds
both:

- It lists Stripe's events of the types the endpoint follows (`WEBHOOK_EVENTS`)
  created since the newest event stored here, minus an overlap
  (`SUBSCRIPTIONS_PENDING_WEBHOOKS_OVERLAP`, at least the interval between two
  checks, so that a gap that opened and closed between two checks is still seen)
  but not before the endpoint was registered, and processes each that dj-stripe
  has not stored.
- It processes again each event whose processing raised (dj-stripe keeps the
  delivery as a valid `WebhookEventTrigger` with its exception and no event), until
  its own attempts at it failed `SUBSCRIPTIONS_PENDING_WEBHOOKS_MAX_ATTEMPTS` times.

Processing is dj-stripe's own, as for a delivery whose signature checked out (the
event comes from Stripe's API, or from a delivery that was verified): store the
event once, sync its object, run the registered handlers, all in one transaction.
So the site's handlers send their lifecycle signals once, whether the delivery, a
redelivery or this check comes first. Each attempt is kept as a
`WebhookEventTrigger` (`User-Agent: check_pending_webhooks`), with its exception
when it failed, so the admin shows how each event reached the site; the site's
`webhook_*` signals are not sent, as no delivery happened.

More than `SUBSCRIPTIONS_PENDING_WEBHOOKS_THRESHOLD` missed events in one check
means the endpoint is likely broken: the site's ADMINS get an e-mail with their ids.
"""

import contextlib
import enum
import json
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from traceback import format_exc

import stripe
from django.conf import settings
from django.core.mail import mail_admins
from django.db import transaction
from django.utils import timezone
from djstripe.models import Event, WebhookEndpoint, WebhookEventTrigger
from djstripe.settings import djstripe_settings

from .run_locks import run_lock
from .stripe_client import api_key, stripe_options
from .webhook_endpoints import WEBHOOK_EVENTS

logger = logging.getLogger(__name__)

LOCK_NAME = "apps.subscriptions.check_pending_webhooks"
PAGE_SIZE = 100
# Stripe accepts at most 20 names in one list request's `types`.
TYPES_PER_REQUEST = 20
# Stripe keeps events for 30 days: failures older than that are not retried.
RETRY_WINDOW = timedelta(days=30)
# Marks the WebhookEventTrigger rows of this check's attempts (no request came in).
ATTEMPT_HEADERS = {"User-Agent": "check_pending_webhooks"}
ATTEMPT_REMOTE_IP = "0.0.0.0"  # dj-stripe's own stand-in for an unknown address


class Source(enum.StrEnum):
    MISSED = "missed"  # never stored: no delivery reached the site
    FAILED = "failed before"  # a delivery (or an earlier check) raised


class Outcome(enum.StrEnum):
    PROCESSED = "processed"
    WOULD_PROCESS = "would process"
    FAILED = "failed"
    GIVEN_UP = "given up"


@dataclass
class Pending:
    """An event to process: its body, and how often its processing failed so far."""

    body: dict
    source: Source
    attempts: int = 0

    @property
    def id(self) -> str:
        return self.body["id"]

    @property
    def type(self) -> str:
        return self.body.get("type", "")


@dataclass
class EventResult:
    """What a check did with one event, for progress lines."""

    event_id: str
    event_type: str
    source: Source
    outcome: Outcome
    attempts: int
    detail: str = ""
    # Its place among the events this check tries: "[position/total]".
    position: int = 0
    total: int = 0


@dataclass
class PendingCounts:
    # Events of the followed types that Stripe listed since `since`.
    listed: int = 0
    # Listed but never stored, nor tried: no delivery reached the site.
    missed: int = 0
    # Their processing raised before.
    failed_before: int = 0
    processed: int = 0
    failed: int = 0
    given_up: int = 0
    pages: int = 0
    since: datetime | None = None
    missed_ids: list[str] = field(default_factory=list)
    # True when more than the threshold were missed (the admins were mailed).
    alerted: bool = False
    # True when another run held the lock, so this one did nothing.
    locked_out: bool = False

    def as_dict(self) -> dict:
        return {
            "listed": self.listed,
            "missed": self.missed,
            "failed_before": self.failed_before,
            "processed": self.processed,
            "failed": self.failed,
            "given_up": self.given_up,
            "pages": self.pages,
            "since": self.since.isoformat() if self.since else None,
            "missed_ids": list(self.missed_ids),
            "alerted": self.alerted,
            "locked_out": self.locked_out,
        }


def window_start(now: datetime) -> datetime:
    """Where the listing starts: the newest stored event's time, minus the overlap,
    and never before the site's webhook endpoint was registered (no delivery was
    owed before, such as the catalogue's events of a first setup).

    "Newest" is the last one stored (the primary key is indexed, `created` is
    not), capped at now: an event of an advanced test clock is dated ahead. With
    no event stored yet, the endpoint's registration, else the overlap before now.
    """
    overlap = timedelta(seconds=settings.SUBSCRIPTIONS_PENDING_WEBHOOKS_OVERLAP)
    livemode = djstripe_settings.STRIPE_LIVE_MODE
    newest = (
        Event.objects.filter(livemode=livemode)
        .order_by("-djstripe_id")
        .values_list("created", flat=True)
        .first()
    )
    registered = (
        WebhookEndpoint.objects.filter(livemode=livemode, created__isnull=False)
        .order_by("created")
        .values_list("created", flat=True)
        .first()
    )
    if registered is not None:
        registered = min(registered, now)
    if newest is None:
        return registered if registered is not None else now - overlap
    start = min(newest, now) - overlap
    return max(start, registered) if registered is not None else start


def list_event_pages(since: datetime, page_size: int = PAGE_SIZE) -> Iterator[list]:
    """Stripe's events of the followed types created after `since`, newest first,
    a page per request (a listing per 20 types)."""
    types = sorted(WEBHOOK_EVENTS)
    after = int(since.timestamp())
    for start in range(0, len(types), TYPES_PER_REQUEST):
        cursor = {}
        while True:
            page = stripe.Event.list(
                types=types[start : start + TYPES_PER_REQUEST],
                created={"gt": after},
                limit=page_size,
                **cursor,
                **stripe_options(),
            )
            if page.data:
                yield page.data
            if not page.has_more or not page.data:
                break
            cursor = {"starting_after": page.data[-1].id}


def failed_events(now: datetime) -> dict[str, Pending]:
    """Events whose processing raised and that are still not stored, by id, with
    the body of their latest attempt and how many of this check's attempts failed
    (Stripe's own retries of a delivery do not count: they stop after three days)."""
    rows = (
        WebhookEventTrigger.objects.filter(
            valid=True, processed=False, created__gte=now - RETRY_WINDOW
        )
        .exclude(exception="")
        .order_by("created", "pk")
        .values_list("body", "headers")
    )
    found: dict[str, Pending] = {}
    for text, headers in rows:
        try:
            body = json.loads(text)
        except ValueError:
            continue
        if not isinstance(body, dict) or not body.get("id"):
            continue
        earlier = found.get(body["id"])
        attempts = earlier.attempts if earlier else 0
        if headers == ATTEMPT_HEADERS:
            attempts += 1
        found[body["id"]] = Pending(body, Source.FAILED, attempts)
    stored = set(Event.objects.filter(id__in=list(found)).values_list("id", flat=True))
    return {event_id: p for event_id, p in found.items() if event_id not in stored}


def process_event(body: dict) -> tuple[WebhookEventTrigger, Exception | None]:
    """Process one event as dj-stripe processes a verified delivery; the attempt's
    trigger row, and the exception if processing raised (then rolled back)."""
    trigger = WebhookEventTrigger.objects.create(
        remote_ip=ATTEMPT_REMOTE_IP,
        headers=ATTEMPT_HEADERS,
        body=json.dumps(body),
        valid=True,
    )
    try:
        with transaction.atomic():
            trigger.process(save=False, api_key=api_key())
    except Exception as exc:
        limit = WebhookEventTrigger._meta.get_field("exception").max_length
        trigger.exception = str(exc)[:limit]
        trigger.traceback = format_exc()
        trigger.event = None
        trigger.processed = False
        trigger.save()
        return trigger, exc
    trigger.save()
    return trigger, None


def _body(event) -> dict:
    """A listed event as the plain JSON a delivery carries."""
    return event.to_dict(for_json=True)


def _collect(
    since: datetime,
    counts: PendingCounts,
    failed: dict[str, Pending],
    progress: Callable[[PendingCounts], None] | None,
    page_size: int,
) -> list[Pending]:
    """The listed events not stored here, oldest first."""
    pending: list[Pending] = []
    for page in list_event_pages(since, page_size):
        counts.pages += 1
        counts.listed += len(page)
        ids = [event.id for event in page]
        stored = set(Event.objects.filter(id__in=ids).values_list("id", flat=True))
        for event in reversed(page):  # a page is newest first
            if event.id in stored:
                continue
            if event.id in failed:
                # Known from a failed delivery: its attempts count towards the limit.
                pending.append(failed.pop(event.id))
            else:
                pending.append(Pending(_body(event), Source.MISSED))
        if progress is not None:
            progress(counts)
    # Failures older than the listing are retried as well, in order with the rest.
    pending.extend(failed.values())
    pending.sort(key=lambda p: p.body.get("created") or 0)
    return pending


def _attempt(item: Pending, *, dry_run: bool) -> EventResult:
    max_attempts = settings.SUBSCRIPTIONS_PENDING_WEBHOOKS_MAX_ATTEMPTS
    result = EventResult(
        item.id, item.type, item.source, Outcome.WOULD_PROCESS, item.attempts
    )
    if item.attempts >= max_attempts:
        result.outcome = Outcome.GIVEN_UP
        result.detail = f"failed {item.attempts} times; not tried again"
        return result
    if dry_run:
        return result
    _, error = process_event(item.body)
    if error is None:
        result.outcome = Outcome.PROCESSED
        return result
    result.attempts += 1
    result.outcome = Outcome.FAILED
    result.detail = f"{type(error).__name__}: {error}"
    if result.attempts >= max_attempts:
        logger.error(
            "Stripe event %s (%s) failed %s times; it is not tried again: %s",
            item.id,
            item.type,
            result.attempts,
            result.detail,
        )
    else:
        logger.warning(
            "Stripe event %s (%s) failed, attempt %s of %s: %s",
            item.id,
            item.type,
            result.attempts,
            max_attempts,
            result.detail,
        )
    return result


def alert_admins(missed: list[Pending], counts: PendingCounts) -> None:
    """Mail the site's ADMINS the ids of the events the endpoint missed."""
    threshold = settings.SUBSCRIPTIONS_PENDING_WEBHOOKS_THRESHOLD
    lines = [
        f"{item.id}  {item.type}  "
        + datetime.fromtimestamp(item.body.get("created") or 0, tz=UTC).isoformat()
        for item in missed
    ]
    message = (
        f"{len(missed)} Stripe events of the types this site follows never reached "
        f"its webhook endpoint (more than {threshold}). They were processed now: "
        f"{counts.processed} processed, {counts.failed} failed.\n\n"
        "So many missed deliveries usually mean the endpoint is disabled, deleted or "
        "points at a wrong URL: check it in Stripe's dashboard (Developers > "
        "Webhooks), or run `manage.py register_webhook_endpoint`.\n\n"
        "Events:\n" + "\n".join(lines) + "\n"
    )
    try:
        mail_admins(f"{len(missed)} Stripe webhooks were missed", message)
    except Exception:
        # The events are processed; the run still reports the alert.
        logger.exception("Could not mail the admins about missed Stripe webhooks")


def check_pending_webhooks(
    *,
    dry_run: bool = False,
    report: Callable[[EventResult], None] | None = None,
    progress: Callable[[PendingCounts], None] | None = None,
    now: datetime | None = None,
    page_size: int = PAGE_SIZE,
) -> PendingCounts:
    """Process the events Stripe has that the site missed or failed; the counts.

    `progress` is called after each page listed, `report` with each event tried.
    Stripe errors while listing propagate (nothing was processed yet); an event
    whose processing raises is counted as failed and tried again next time.
    """
    now = now or timezone.now()
    counts = PendingCounts()
    # A dry run writes nothing, so it needs no lock.
    lock = contextlib.nullcontext(True) if dry_run else run_lock(LOCK_NAME)
    with lock as acquired:
        if not acquired:
            logger.info("Missed-webhook check skipped: another run holds the lock")
            counts.locked_out = True
            return counts
        counts.since = window_start(now)
        pending = _collect(
            counts.since, counts, failed_events(now), progress, page_size
        )
        missed = [item for item in pending if item.source is Source.MISSED]
        counts.missed = len(missed)
        counts.missed_ids = [item.id for item in missed]
        counts.failed_before = len(pending) - len(missed)
        for position, item in enumerate(pending, start=1):
            result = _attempt(item, dry_run=dry_run)
            result.position, result.total = position, len(pending)
            # In a dry run, `processed` counts those that would be.
            if result.outcome in (Outcome.PROCESSED, Outcome.WOULD_PROCESS):
                counts.processed += 1
            elif result.outcome is Outcome.FAILED:
                counts.failed += 1
            elif result.outcome is Outcome.GIVEN_UP:
                counts.given_up += 1
            if report is not None:
                report(result)
        if counts.missed > settings.SUBSCRIPTIONS_PENDING_WEBHOOKS_THRESHOLD:
            counts.alerted = True
            if not dry_run:
                alert_admins(missed, counts)
    logger.info(
        "Missed-webhook check%s since %s: listed=%s missed=%s failed_before=%s "
        "processed=%s failed=%s given_up=%s",
        " (dry run)" if dry_run else "",
        counts.since.isoformat(),
        counts.listed,
        counts.missed,
        counts.failed_before,
        counts.processed,
        counts.failed,
        counts.given_up,
    )
    return counts
