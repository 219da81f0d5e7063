"""Checkout, the billing portal, subscriptions, invoices, events and test clocks."""

import calendar
import functools
from datetime import UTC, datetime, timedelta

from . import shapes
from .catalog import card_for
from .errors import card_declined, invalid, missing
from .params import (
    LIST_PARAMS,
    as_bool,
    as_int,
    as_list,
    check_params,
    clone,
    created_filter,
    merge_metadata,
)

DAY = 86400
# Stripe gives up on an unpaid first invoice after 23 hours.
INCOMPLETE_EXPIRES_AFTER = 23 * 3600
TRIAL_WILL_END_BEFORE = 3 * DAY
CHECKOUT_EXPIRES_AFTER = DAY
ENDED = ("canceled", "incomplete_expired")
LIVE_STATUSES = ("trialing", "active", "past_due", "unpaid", "incomplete")
PORTAL_ACTIONS = (
    "switch_price",
    "set_quantity",
    "cancel_at_period_end",
    "cancel_now",
    "resume",
)

CHECKOUT_FIELDS = {
    "allow_promotion_codes",
    "automatic_tax",
    "billing_address_collection",
    "cancel_url",
    "client_reference_id",
    "consent_collection",
    "currency",
    "custom_text",
    "customer",
    "customer_email",
    "customer_update",
    "discounts",
    "expires_at",
    "line_items",
    "locale",
    "metadata",
    "mode",
    "payment_method_collection",
    "payment_method_types",
    "phone_number_collection",
    "saved_payment_method_options",
    "subscription_data",
    "success_url",
    "tax_id_collection",
    "ui_mode",
}
SUBSCRIPTION_DATA_FIELDS = {
    "metadata",
    "trial_period_days",
    "trial_end",
    "description",
    "default_tax_rates",
    "proration_behavior",
    "trial_settings",
}
SUBSCRIPTION_CREATE_FIELDS = {
    "cancel_at",
    "cancel_at_period_end",
    "collection_method",
    "customer",
    "default_payment_method",
    "description",
    "items",
    "metadata",
    "off_session",
    "payment_behavior",
    "payment_settings",
    "proration_behavior",
    "trial_end",
    "trial_period_days",
    "trial_settings",
}
SUBSCRIPTION_UPDATE_FIELDS = {
    "cancel_at",
    "cancel_at_period_end",
    "cancellation_details",
    "default_payment_method",
    "description",
    "items",
    "metadata",
    "off_session",
    "payment_behavior",
    "payment_settings",
    "proration_behavior",
    "proration_date",
    "trial_end",
}


def add_interval(timestamp, interval, count, anchor_day=None):
    """`timestamp` moved on by `count` intervals; months keep the anchor's day if they can."""
    moment = datetime.fromtimestamp(timestamp, UTC)
    if interval == "day":
        return int((moment + timedelta(days=count)).timestamp())
    if interval == "week":
        return int((moment + timedelta(weeks=count)).timestamp())
    months = count * (12 if interval == "year" else 1)
    years, month_index = divmod(moment.month - 1 + months, 12)
    year = moment.year + years
    day = min(anchor_day or moment.day, calendar.monthrange(year, month_index + 1)[1])
    return int(moment.replace(year=year, month=month_index + 1, day=day).timestamp())


def public_change(method):
    """Run an engine method under the lock and tell listeners the state changed."""

    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        with self.lock:
            result = method(self, *args, **kwargs)
            self._changed()
            return result

    return wrapper


class BillingMixin:
    """Endpoints and state transitions for billing; mixed into Engine."""

    # -- helpers -------------------------------------------------------------------

    def _recurring_price(self, price_id, param):
        price = self.fetch("price", price_id, param)
        if not price["active"]:
            raise invalid(f"The price specified is inactive: {price_id}", param=param)
        if price["type"] != "recurring":
            raise invalid(
                f"The price specified is set to `type=one_time` but this field only accepts"
                f" prices with `type=recurring`: {price_id}",
                param=param,
            )
        return price

    def _items_spec(self, raw, param="items"):
        specs = []
        for index, item in enumerate(as_list(raw, param)):
            if not isinstance(item, dict) or not item.get("price"):
                raise invalid(
                    f"Missing required param: {param}[{index}][price].",
                    param=f"{param}[{index}][price]",
                    code="parameter_missing",
                )
            for key in item:
                if key not in ("price", "quantity", "metadata", "adjustable_quantity"):
                    raise invalid(
                        f"Received unknown parameter: {param}[{index}][{key}]",
                        param=f"{param}[{index}][{key}]",
                        code="parameter_unknown",
                    )
            price = self._recurring_price(item["price"], f"{param}[{index}][price]")
            quantity = as_int(item.get("quantity", 1), f"{param}[{index}][quantity]", 0)
            specs.append((price, quantity, item.get("metadata") or {}))
        if not specs:
            raise invalid(
                f"Missing required param: {param}.",
                param=param,
                code="parameter_missing",
            )
        return specs

    def _period_end(self, start, price, anchor):
        recurring = price["recurring"]
        anchor_day = datetime.fromtimestamp(anchor, UTC).day
        return add_interval(
            start, recurring["interval"], recurring["interval_count"], anchor_day
        )

    def _sub_items(self, sub):
        return [self.state["objects"][i] for i in sub["items"]["data"]]

    def _period(self, sub):
        items = self._sub_items(sub)
        return items[0]["current_period_start"], items[0]["current_period_end"]

    def _price_name(self, price):
        product = self.state["objects"].get(price["product"])
        return product["name"] if product else price["id"]

    # -- invoices ------------------------------------------------------------------

    def _new_invoice(self, sub, reason, lines, when):
        """A draft invoice for `sub`; lines are (item, amount, quantity, period, text)."""
        customer = self.state["objects"][sub["customer"]]
        number = f"{customer['invoice_prefix']}-{customer['next_invoice_sequence']:04d}"
        customer["next_invoice_sequence"] += 1
        invoice = shapes.invoice(self.new_id("invoice"), when, customer, number)
        invoice["number"] = None
        self.private(invoice["id"])["number"] = number
        invoice["billing_reason"] = reason
        invoice["subscription"] = sub["id"]
        invoice["parent"] = {
            "quote_details": None,
            "subscription_details": {
                "metadata": clone(sub["metadata"]),
                "subscription": sub["id"],
            },
            "type": "subscription_details",
        }
        data = []
        for item, amount, quantity, period, text in lines:
            line = shapes.invoice_line(
                self.new_id("line_item"),
                invoice["id"],
                item,
                amount,
                quantity,
                period,
                text,
            )
            line["parent"]["subscription_item_details"]["proration"] = (
                reason == "proration"
            )
            data.append(line)
        invoice["lines"]["data"] = data
        total = sum(line["amount"] for line in data)
        for field in (
            "amount_due",
            "amount_remaining",
            "subtotal",
            "subtotal_excluding_tax",
            "total",
            "total_excluding_tax",
        ):
            invoice[field] = total
        if data:
            invoice["period_start"] = min(line["period"]["start"] for line in data)
            invoice["period_end"] = max(line["period"]["end"] for line in data)
        self.save(invoice)
        sub["latest_invoice"] = invoice["id"]
        self.emit("invoice.created", invoice, created=when)
        return invoice

    def _finalize(self, invoice, when):
        invoice["status"] = "open"
        invoice["number"] = self.private(invoice["id"])["number"]
        invoice["effective_at"] = when
        invoice["status_transitions"]["finalized_at"] = when
        invoice["hosted_invoice_url"] = f"{self.public_url}/invoice/{invoice['id']}"
        self.emit("invoice.finalized", invoice, created=when)

    def _mark_paid(self, invoice, when):
        if invoice["amount_due"] > 0:
            invoice["attempt_count"] += 1
            invoice["attempted"] = True
        invoice["status"] = "paid"
        invoice["amount_paid"] = invoice["amount_due"]
        invoice["amount_remaining"] = 0
        invoice["next_payment_attempt"] = None
        invoice["status_transitions"]["paid_at"] = when
        invoice["webhooks_delivered_at"] = when
        self.emit("invoice.paid", invoice, created=when)
        self.emit("invoice.payment_succeeded", invoice, created=when)

    def _mark_failed(self, invoice, when):
        invoice["attempt_count"] += 1
        invoice["attempted"] = True
        retry_days = self.state["settings"]["payment_retry_days"]
        attempt = invoice["attempt_count"]
        invoice["next_payment_attempt"] = (
            when + int(retry_days[attempt - 1] * DAY)
            if attempt <= len(retry_days)
            else None
        )
        self.emit("invoice.payment_failed", invoice, created=when)

    def _collect(self, sub, invoice, when):
        """Finalize and try to charge an invoice; returns whether it got paid."""
        self._finalize(invoice, when)
        if invoice["amount_due"] == 0:
            self._mark_paid(invoice, when)
            return True
        succeeded, _ = self.charge_succeeds(sub["customer"], sub)
        if succeeded:
            self._mark_paid(invoice, when)
        else:
            self._mark_failed(invoice, when)
        return succeeded

    # -- subscriptions: lifecycle --------------------------------------------------

    def start_subscription(
        self,
        customer,
        specs,
        trial_end=None,
        metadata=None,
        default_payment_method=None,
        payment_behavior="allow_incomplete",
        description=None,
    ):
        """Create a subscription, its first invoice and their events; returns it."""
        now = self.now(customer["id"])
        if trial_end is not None and trial_end <= now:
            raise invalid(
                "Invalid timestamp: must be an integer Unix timestamp in the future.",
                param="trial_end",
            )
        probe = {"default_payment_method": default_payment_method}
        first_amount = sum(self.price_amount(p, q) for p, q, _ in specs)
        if (
            trial_end is None
            and first_amount > 0
            and payment_behavior != "default_incomplete"
        ):
            succeeded, reason = self.charge_succeeds(customer["id"], probe)
            if reason == "no_payment_method":
                raise invalid(
                    "This customer has no attached payment source or default payment method."
                    " Please consider adding a default payment method.",
                    code="resource_missing",
                )
            if not succeeded and payment_behavior == "error_if_incomplete":
                raise card_declined()
        sub = shapes.subscription(self.new_id("subscription"), now, customer)
        sub["metadata"] = merge_metadata({}, metadata or {})
        sub["description"] = description
        sub["default_payment_method"] = default_payment_method
        sub["currency"] = specs[0][0]["currency"]
        if trial_end is not None:
            sub["status"] = "trialing"
            sub["trial_start"], sub["trial_end"] = now, trial_end
        sub["billing_cycle_anchor"] = trial_end or now
        item_ids = []
        for price, quantity, item_metadata in specs:
            end = trial_end or self._period_end(now, price, now)
            item = shapes.subscription_item(
                self.new_id("subscription_item"),
                now,
                sub["id"],
                price["id"],
                quantity,
                now,
                end,
            )
            item["metadata"] = merge_metadata({}, item_metadata)
            self.save(item)
            item_ids.append(item["id"])
        sub["items"]["data"] = item_ids
        self.save(sub)
        lines = []
        for item, (price, quantity, _) in zip(self._sub_items(sub), specs, strict=True):
            amount = 0 if trial_end else self.price_amount(price, quantity)
            text = (
                f"Trial period for {self._price_name(price)}"
                if trial_end
                else f"{quantity} x {self._price_name(price)}"
            )
            period = {
                "start": item["current_period_start"],
                "end": item["current_period_end"],
            }
            lines.append((item, amount, quantity, period, text))
        invoice = self._new_invoice(sub, "subscription_create", lines, now)
        if trial_end is not None:
            sub_status = "trialing"
        elif payment_behavior == "default_incomplete" and invoice["amount_due"] > 0:
            sub_status = "incomplete"
        else:
            sub_status = None
        self.emit("customer.subscription.created", sub, created=now)
        if sub_status == "incomplete":
            self._finalize(invoice, now)
        else:
            paid = self._collect(sub, invoice, now)
            before = self.render(sub)
            if sub_status is None:
                sub["status"] = "active" if paid else "incomplete"
            if not paid:
                # A first invoice is not retried: the customer must act within 23 hours.
                invoice["next_payment_attempt"] = None
            changes = self.diff(before, self.render(sub))
            if changes:
                self.emit("customer.subscription.updated", sub, changes, created=now)
        return sub

    def end_subscription(self, sub, when, reason="cancellation_requested"):
        """Cancel now: status canceled, open invoices stop retrying."""
        if sub["status"] in ENDED:
            return
        sub["status"] = "canceled"
        sub["ended_at"] = when
        sub["canceled_at"] = sub["canceled_at"] or when
        sub["cancellation_details"]["reason"] = reason
        for invoice in self.objects_of("invoice"):
            if invoice["subscription"] == sub["id"] and invoice["status"] == "open":
                invoice["next_payment_attempt"] = None
        self.emit("customer.subscription.deleted", sub, created=when)

    def _renew(self, sub, when):
        """The period ended: cancel if asked, else start the next period and bill it."""
        if sub["cancel_at_period_end"] or (
            sub["cancel_at"] and sub["cancel_at"] <= when
        ):
            self.end_subscription(sub, when)
            return
        before = self.render(sub)
        lines = []
        for item in self._sub_items(sub):
            price = self.state["objects"][item["price"]]
            item["current_period_start"] = item["current_period_end"]
            item["current_period_end"] = self._period_end(
                item["current_period_start"], price, sub["billing_cycle_anchor"]
            )
            period = {
                "start": item["current_period_start"],
                "end": item["current_period_end"],
            }
            amount = self.price_amount(price, item["quantity"])
            lines.append(
                (
                    item,
                    amount,
                    item["quantity"],
                    period,
                    f"{item['quantity']} x {self._price_name(price)}",
                )
            )
        pending = self.private(sub["id"]).pop("pending_prorations", [])
        for item_id, amount, text, period in pending:
            item = self.state["objects"].get(item_id)
            if item is not None:
                lines.append((item, amount, item["quantity"], period, text))
        if sub["status"] == "trialing":
            sub["status"] = "active"
        invoice = self._new_invoice(sub, "subscription_cycle", lines, when)
        if sub["status"] == "unpaid":
            # Stripe keeps invoicing an unpaid subscription but stops charging it.
            self._finalize(invoice, when)
            invoice["auto_advance"] = False
        elif self._collect(sub, invoice, when):
            sub["status"] = "active"
        else:
            sub["status"] = "past_due"
        self.emit(
            "customer.subscription.updated",
            sub,
            self.diff(before, self.render(sub)),
            created=when,
        )

    def _retry_invoice(self, invoice, when):
        """A dunning retry of an open renewal invoice."""
        sub = self.state["objects"].get(invoice["subscription"])
        if sub is None:
            return
        before = self.render(sub)
        succeeded, _ = self.charge_succeeds(sub["customer"], sub)
        if succeeded:
            self._mark_paid(invoice, when)
            if sub["status"] in ("past_due", "unpaid", "incomplete"):
                sub["status"] = "active"
        else:
            self._mark_failed(invoice, when)
            if invoice["next_payment_attempt"] is None:
                final = self.state["settings"]["final_payment_failure"]
                if final == "cancel":
                    self.end_subscription(sub, when, reason="payment_failed")
                    return
                if final == "unpaid":
                    sub["status"] = "unpaid"
        changes = self.diff(before, self.render(sub))
        if changes:
            self.emit("customer.subscription.updated", sub, changes, created=when)

    def _expire_incomplete(self, sub, when):
        sub["status"] = "incomplete_expired"
        sub["ended_at"] = when
        for invoice in self.objects_of("invoice"):
            if invoice["subscription"] == sub["id"] and invoice["status"] == "open":
                invoice["status"] = "void"
                invoice["status_transitions"]["voided_at"] = when
                invoice["next_payment_attempt"] = None
                self.emit("invoice.voided", invoice, created=when)
        self.emit("customer.subscription.deleted", sub, created=when)

    def _due_steps(self, customer_ids, until):
        """Every scheduled transition at or before `until`, for these customers."""
        steps = []
        for sub in self.objects_of("subscription"):
            if sub["customer"] not in customer_ids or sub["status"] in ENDED:
                continue
            if sub["status"] == "incomplete":
                steps.append(
                    (sub["created"] + INCOMPLETE_EXPIRES_AFTER, 3, "expire", sub["id"])
                )
                continue
            flags = self.private(sub["id"])
            if sub["status"] == "trialing" and not flags.get("trial_will_end_sent"):
                warn_at = sub["trial_end"] - TRIAL_WILL_END_BEFORE
                if warn_at > sub["trial_start"]:
                    steps.append((warn_at, 1, "trial_will_end", sub["id"]))
            _, period_end = self._period(sub)
            steps.append((period_end, 2, "renew", sub["id"]))
            if sub["cancel_at"] and sub["cancel_at"] < period_end:
                steps.append((sub["cancel_at"], 0, "cancel", sub["id"]))
        for invoice in self.objects_of("invoice"):
            if (
                invoice["customer"] in customer_ids
                and invoice["status"] == "open"
                and invoice["next_payment_attempt"]
            ):
                steps.append(
                    (invoice["next_payment_attempt"], 4, "retry", invoice["id"])
                )
        return sorted(step for step in steps if step[0] <= until)

    def _apply_step(self, kind, obj, when):
        if kind == "renew":
            self._renew(obj, when)
        elif kind == "retry":
            self._retry_invoice(obj, when)
        elif kind == "expire":
            self._expire_incomplete(obj, when)
        elif kind == "cancel":
            self.end_subscription(obj, when)
        elif kind == "trial_will_end":
            self.private(obj["id"])["trial_will_end_sent"] = True
            self.emit("customer.subscription.trial_will_end", obj, created=when)

    def _run_steps(self, customer_ids, target, clock=None):
        """Apply, in time order, every transition due by `target`; returns how many."""
        done = 0
        while done < 10000:  # bounded against a runaway schedule
            steps = self._due_steps(customer_ids, target)
            if not steps:
                break
            done += 1
            when, _, kind, object_id = steps[0]
            if clock is not None:
                clock["frozen_time"] = max(clock["frozen_time"], when)
            self._apply_step(kind, self.state["objects"][object_id], when)
        if clock is not None:
            clock["frozen_time"] = target
        return done

    # -- subscriptions: endpoints --------------------------------------------------

    def _trial_end_param(self, params, now):
        if params.get("trial_end") not in (None, ""):
            if params["trial_end"] == "now":
                return None
            return as_int(params["trial_end"], "trial_end")
        if params.get("trial_period_days") not in (None, ""):
            days = as_int(params["trial_period_days"], "trial_period_days", 0)
            return now + days * DAY if days else None
        return None

    def create_subscription(self, params):
        check_params(params, SUBSCRIPTION_CREATE_FIELDS, required=["customer"])
        customer = self.fetch("customer", params["customer"], "customer")
        specs = self._items_spec(params.get("items"))
        behavior = params.get("payment_behavior", "allow_incomplete")
        if behavior not in (
            "allow_incomplete",
            "default_incomplete",
            "error_if_incomplete",
            "pending_if_incomplete",
        ):
            raise invalid(
                f"Invalid payment_behavior: {behavior}", param="payment_behavior"
            )
        pm = params.get("default_payment_method") or None
        if pm:
            self.fetch("payment_method", pm, "default_payment_method")
        sub = self.start_subscription(
            customer,
            specs,
            trial_end=self._trial_end_param(params, self.now(customer["id"])),
            metadata=params.get("metadata"),
            default_payment_method=pm,
            payment_behavior=behavior,
            description=params.get("description") or None,
        )
        if params.get("cancel_at_period_end") or params.get("cancel_at"):
            self._apply_cancel_fields(sub, params, self.now(customer["id"]))
        return self.render(sub)

    def retrieve_subscription(self, params, id):
        check_params(params, set())
        return self.render(self.fetch("subscription", id))

    def _apply_cancel_fields(self, sub, params, now):
        if "cancel_at_period_end" in params:
            flag = as_bool(params["cancel_at_period_end"], "cancel_at_period_end")
            sub["cancel_at_period_end"] = flag
            sub["cancel_at"] = self._period(sub)[1] if flag else None
            sub["canceled_at"] = now if flag else None
            sub["cancellation_details"]["reason"] = (
                "cancellation_requested" if flag else None
            )
        if "cancel_at" in params:
            value = params["cancel_at"]
            sub["cancel_at"] = (
                as_int(value, "cancel_at") if value not in ("", None) else None
            )
            sub["cancel_at_period_end"] = False
            sub["canceled_at"] = now if sub["cancel_at"] else None
        details = params.get("cancellation_details")
        if isinstance(details, dict):
            for key in ("comment", "feedback"):
                if key in details:
                    sub["cancellation_details"][key] = details[key] or None

    def _update_items(self, sub, raw, proration, now):
        """Apply `items[...]` to a subscription, returning proration lines owed."""
        owed = []
        period_start, period_end = self._period(sub)
        span = max(1, period_end - period_start)
        fraction = max(0, period_end - now) / span
        current = {item["id"]: item for item in self._sub_items(sub)}
        for index, change in enumerate(as_list(raw, "items")):
            if not isinstance(change, dict):
                raise invalid("Invalid object", param=f"items[{index}]")
            unknown = set(change) - {
                "id",
                "price",
                "quantity",
                "deleted",
                "metadata",
                "clear_usage",
            }
            if unknown:
                key = sorted(unknown)[0]
                raise invalid(
                    f"Received unknown parameter: items[{index}][{key}]",
                    param=f"items[{index}][{key}]",
                    code="parameter_unknown",
                )
            if change.get("id"):
                if change["id"] not in current:
                    raise invalid(
                        f"Subscription item {change['id']} does not belong to this subscription.",
                        param=f"items[{index}][id]",
                        code="resource_missing",
                    )
                item = current[change["id"]]
                old_amount = self.price_amount(
                    self.state["objects"][item["price"]], item["quantity"]
                )
                if as_bool(change.get("deleted", "false"), f"items[{index}][deleted]"):
                    if len(current) == 1:
                        raise invalid(
                            "A subscription must keep at least one item.",
                            param=f"items[{index}][deleted]",
                        )
                    sub["items"]["data"].remove(item["id"])
                    del current[item["id"]]
                    self.remove(item["id"])
                    new_amount = 0
                else:
                    if change.get("price"):
                        price = self._recurring_price(
                            change["price"], f"items[{index}][price]"
                        )
                        item["price"] = item["plan"] = price["id"]
                    if "quantity" in change:
                        item["quantity"] = as_int(
                            change["quantity"], f"items[{index}][quantity]", 0
                        )
                    if "metadata" in change:
                        item["metadata"] = merge_metadata(
                            item["metadata"], change["metadata"]
                        )
                    new_amount = self.price_amount(
                        self.state["objects"][item["price"]], item["quantity"]
                    )
            else:
                if not change.get("price"):
                    raise invalid(
                        f"Missing required param: items[{index}][price].",
                        param=f"items[{index}][price]",
                        code="parameter_missing",
                    )
                price = self._recurring_price(change["price"], f"items[{index}][price]")
                quantity = as_int(
                    change.get("quantity", 1), f"items[{index}][quantity]", 0
                )
                item = shapes.subscription_item(
                    self.new_id("subscription_item"),
                    now,
                    sub["id"],
                    price["id"],
                    quantity,
                    period_start,
                    period_end,
                )
                self.save(item)
                sub["items"]["data"].append(item["id"])
                current[item["id"]] = item
                old_amount, new_amount = 0, self.price_amount(price, quantity)
            net = round((new_amount - old_amount) * fraction)
            if net and proration != "none" and sub["status"] != "trialing":
                period = {"start": now, "end": period_end}
                owed.append(
                    (item["id"], net, "Proration for the rest of the period", period)
                )
        return owed

    def update_subscription(self, params, id):
        check_params(params, SUBSCRIPTION_UPDATE_FIELDS)
        sub = self.fetch("subscription", id)
        now = self.now(sub["customer"])
        if sub["status"] in ENDED and set(params) - {
            "metadata",
            "cancellation_details",
        }:
            raise invalid(
                "A canceled subscription can only update its cancellation_details and metadata.",
            )
        proration = params.get("proration_behavior", "create_prorations")
        if proration not in ("create_prorations", "none", "always_invoice"):
            raise invalid(
                f"Invalid proration_behavior: {proration}", param="proration_behavior"
            )
        before = self.render(sub)
        owed = []
        if "items" in params:
            owed = self._update_items(sub, params["items"], proration, now)
        if "metadata" in params:
            sub["metadata"] = merge_metadata(sub["metadata"], params["metadata"])
        if "description" in params:
            sub["description"] = params["description"] or None
        if "default_payment_method" in params:
            pm = params["default_payment_method"] or None
            if pm:
                self.fetch("payment_method", pm, "default_payment_method")
            sub["default_payment_method"] = pm
        self._apply_cancel_fields(sub, params, now)
        trial_end_now = params.get("trial_end") == "now"
        if params.get("trial_end") not in (None, "", "now"):
            trial_end = as_int(params["trial_end"], "trial_end")
            if trial_end <= now:
                raise invalid(
                    "Invalid timestamp: must be in the future.", param="trial_end"
                )
            sub["status"] = "trialing"
            sub["trial_start"] = sub["trial_start"] or now
            sub["trial_end"] = trial_end
            for item in self._sub_items(sub):
                item["current_period_end"] = trial_end
        if owed and proration == "always_invoice":
            invoice = self._new_invoice(
                sub,
                "subscription_update",
                [
                    (
                        self.state["objects"][i],
                        a,
                        self.state["objects"][i]["quantity"],
                        p,
                        t,
                    )
                    for i, a, t, p in owed
                    if a > 0
                ],
                now,
            )
            if not self._collect(sub, invoice, now):
                sub["status"] = "past_due"
        elif owed:
            self.private(sub["id"]).setdefault("pending_prorations", []).extend(owed)
        changes = self.diff(before, self.render(sub))
        if changes:
            self.emit("customer.subscription.updated", sub, changes, created=now)
        if trial_end_now and sub["status"] == "trialing":
            sub["trial_end"] = now
            for item in self._sub_items(sub):
                item["current_period_end"] = now
            self._renew(sub, now)
        return self.render(sub)

    def cancel_subscription(self, params, id):
        check_params(params, {"invoice_now", "prorate", "cancellation_details"})
        sub = self.fetch("subscription", id)
        if sub["status"] in ENDED:
            raise invalid(
                f"No such subscription: '{id}' (it is already canceled).",
                code="resource_missing",
                param="id",
            )
        self._apply_cancel_fields(
            sub,
            {k: v for k, v in params.items() if k == "cancellation_details"},
            self.now(sub["customer"]),
        )
        self.end_subscription(sub, self.now(sub["customer"]))
        return self.render(sub)

    def list_subscriptions(self, params):
        check_params(
            params,
            LIST_PARAMS
            | {
                "customer",
                "status",
                "price",
                "created",
                "test_clock",
                "collection_method",
                "current_period_end",
                "current_period_start",
            },
        )
        subs = self.objects_of("subscription")
        status = params.get("status")
        if status in (None, ""):
            subs = [s for s in subs if s["status"] not in ENDED]
        elif status == "ended":
            subs = [s for s in subs if s["status"] in ENDED]
        elif status != "all":
            if status not in LIVE_STATUSES + ENDED:
                raise invalid(f"Invalid status: {status}", param="status")
            subs = [s for s in subs if s["status"] == status]
        if params.get("customer"):
            subs = [s for s in subs if s["customer"] == params["customer"]]
        if params.get("test_clock"):
            subs = [s for s in subs if s["test_clock"] == params["test_clock"]]
        if params.get("price"):
            subs = [
                s
                for s in subs
                if any(i["price"] == params["price"] for i in self._sub_items(s))
            ]
        matches = created_filter(params.get("created"))
        subs = [s for s in subs if matches(s["created"])]
        return self.list_response("/v1/subscriptions", subs, params)

    def list_subscription_items(self, params):
        check_params(params, LIST_PARAMS | {"subscription"}, required=["subscription"])
        sub = self.fetch("subscription", params["subscription"], "subscription")
        return self.list_response(
            f"/v1/subscription_items?subscription={sub['id']}",
            self._sub_items(sub),
            params,
        )

    def retrieve_subscription_item(self, params, id):
        check_params(params, set())
        return self.render(self.fetch("subscription_item", id))

    # -- invoices: endpoints -------------------------------------------------------

    def retrieve_invoice(self, params, id):
        check_params(params, set())
        return self.render(self.fetch("invoice", id))

    def list_invoices(self, params):
        return self.simple_list(
            "invoice",
            "/v1/invoices",
            params,
            filters=("customer", "subscription", "status"),
            accepted=("collection_method", "due_date"),
        )

    def list_invoice_lines(self, params, id):
        check_params(params, LIST_PARAMS)
        invoice = self.fetch("invoice", id)
        lines = invoice["lines"]["data"]
        return {
            "object": "list",
            "data": clone(lines),
            "has_more": False,
            "url": f"/v1/invoices/{id}/lines",
        }

    def pay_invoice(self, params, id):
        check_params(
            params,
            {
                "payment_method",
                "off_session",
                "paid_out_of_band",
                "source",
                "forgive",
                "mandate",
            },
        )
        invoice = self.fetch("invoice", id)
        if invoice["status"] != "open":
            raise invalid(
                "Invoice is already paid."
                if invoice["status"] == "paid"
                else f"You cannot pay an invoice with status {invoice['status']}.",
                code="invoice_not_open",
            )
        sub = self.state["objects"].get(invoice["subscription"])
        now = self.now(invoice["customer"])
        probe = dict(
            sub or {},
            default_payment_method=params.get("payment_method")
            or (sub or {}).get("default_payment_method"),
        )
        succeeded, _ = self.charge_succeeds(invoice["customer"], probe)
        if not succeeded:
            self._mark_failed(invoice, now)
            raise card_declined()
        before = self.render(sub) if sub else None
        self._mark_paid(invoice, now)
        if sub and sub["status"] in ("incomplete", "past_due", "unpaid"):
            sub["status"] = "active"
            self.emit(
                "customer.subscription.updated",
                sub,
                self.diff(before, self.render(sub)),
            )
        return self.render(invoice)

    # -- checkout ------------------------------------------------------------------

    def create_checkout_session(self, params):
        check_params(params, CHECKOUT_FIELDS, required=["mode", "success_url"])
        if params["mode"] != "subscription":
            raise invalid(
                "The emulator supports Checkout in mode=subscription only.",
                param="mode",
                code="parameter_invalid_string",
            )
        if params.get("customer") and params.get("customer_email"):
            raise invalid(
                "You may only specify one of these parameters: customer,"
                " customer_email.",
                param="customer_email",
            )
        customer = None
        if params.get("customer"):
            customer = self.fetch("customer", params["customer"], "customer")
        data = params.get("subscription_data") or {}
        if not isinstance(data, dict):
            raise invalid("Invalid object", param="subscription_data")
        for key in data:
            if key not in SUBSCRIPTION_DATA_FIELDS:
                raise invalid(
                    f"Received unknown parameter: subscription_data[{key}]",
                    param=f"subscription_data[{key}]",
                    code="parameter_unknown",
                )
        if data.get("trial_period_days") not in (None, "") and (
            as_int(data["trial_period_days"], "subscription_data[trial_period_days]")
            < 1
        ):
            raise invalid(
                "The trial period must be at least 1 day.",
                param="subscription_data[trial_period_days]",
            )
        specs = self._items_spec(params.get("line_items"), "line_items")
        now = self.now(customer["id"] if customer else None)
        session = shapes.checkout_session(
            self.new_id("checkout.session"), now, now + CHECKOUT_EXPIRES_AFTER
        )
        session["success_url"] = params["success_url"]
        session["cancel_url"] = params.get("cancel_url") or None
        session["client_reference_id"] = params.get("client_reference_id") or None
        session["customer"] = customer["id"] if customer else None
        session["customer_email"] = params.get("customer_email") or None
        session["metadata"] = merge_metadata({}, params.get("metadata") or {})
        if "allow_promotion_codes" in params:
            session["allow_promotion_codes"] = as_bool(
                params["allow_promotion_codes"], "allow_promotion_codes"
            )
        session["locale"] = params.get("locale") or None
        session["billing_address_collection"] = (
            params.get("billing_address_collection") or None
        )
        session["url"] = f"{self.public_url}/checkout/{session['id']}"
        session["currency"] = specs[0][0]["currency"]
        items, subtotal = [], 0
        for price, quantity, _ in specs:
            amount = self.price_amount(price, quantity)
            subtotal += amount
            items.append(
                shapes.checkout_line_item(
                    self.new_id("item"),
                    clone(price),
                    quantity,
                    self._price_name(price),
                    amount,
                )
            )
        trial = data.get("trial_period_days") or data.get("trial_end")
        session["amount_subtotal"] = subtotal
        session["amount_total"] = 0 if trial else subtotal
        self.save(session)
        self.private(session["id"]).update(
            line_items=items, subscription_data=clone(data)
        )
        return self.render(session)

    def retrieve_checkout_session(self, params, id):
        check_params(params, set())
        return self.render(self.fetch("checkout.session", id))

    def list_checkout_sessions(self, params):
        return self.simple_list(
            "checkout.session",
            "/v1/checkout/sessions",
            params,
            filters=("customer", "subscription", "status"),
            accepted=("payment_intent", "customer_details"),
        )

    def list_checkout_line_items(self, params, id):
        check_params(params, LIST_PARAMS)
        self.fetch("checkout.session", id)
        items = self.private(id).get("line_items", [])
        return {
            "object": "list",
            "data": clone(items),
            "has_more": False,
            "url": f"/v1/checkout/sessions/{id}/line_items",
        }

    def expire_checkout_session(self, params, id):
        check_params(params, set())
        session = self.fetch("checkout.session", id)
        if session["status"] != "open":
            raise invalid(
                'Only Checkout Sessions with a status in ["open"] can be expired.'
            )
        session["status"] = "expired"
        self.emit("checkout.session.expired", session)
        return self.render(session)

    def success_url(self, session):
        return session["success_url"].replace("{CHECKOUT_SESSION_ID}", session["id"])

    @public_change
    def complete_checkout(self, session_id, card="success", email=None):
        """Pay a Checkout Session as the hosted page does; returns the success redirect URL.

        A declined card raises StripeError (402, card_declined) and creates nothing.
        """
        session = self.fetch("checkout.session", session_id)
        if session["status"] != "open":
            raise invalid(
                f"This Checkout Session is {session['status']}.", param="session"
            )
        now = self.now(session["customer"])
        if session["expires_at"] <= now:
            session["status"] = "expired"
            self.emit("checkout.session.expired", session)
            raise invalid("This Checkout Session has expired.", param="session")
        _, _, behaviour = card_for(card)
        if behaviour == "decline":
            raise card_declined()
        email = email or session["customer_email"]
        data = self.private(session_id)["subscription_data"]
        specs = []
        for line in self.private(session_id)["line_items"]:
            price = self._recurring_price(line["price"]["id"], "line_items")
            specs.append((price, line["quantity"], {}))
        if session["customer"]:
            customer = self.fetch("customer", session["customer"], "customer")
        else:
            sequence = len(self.objects_of("customer")) + 1
            customer = shapes.customer(self.new_id("customer"), now, sequence)
            customer["email"] = email or f"customer{sequence}@example.com"
            self.save(customer)
            self.emit("customer.created", customer)
        pm = self.attach_card(customer["id"], card)
        before = clone(customer)
        customer["invoice_settings"]["default_payment_method"] = pm["id"]
        self.emit("customer.updated", customer, self.diff(before, customer))
        trial_end = None
        if data.get("trial_end"):
            trial_end = as_int(data["trial_end"], "subscription_data[trial_end]")
        elif data.get("trial_period_days"):
            trial_end = (
                now + as_int(data["trial_period_days"], "trial_period_days") * DAY
            )
        sub = self.start_subscription(
            customer,
            specs,
            trial_end=trial_end,
            metadata=data.get("metadata"),
            description=data.get("description"),
        )
        session.update(
            status="complete",
            customer=customer["id"],
            subscription=sub["id"],
            invoice=sub["latest_invoice"],
            payment_status="no_payment_required" if trial_end else "paid",
            customer_details=shapes.customer_details(customer["email"]),
            customer_email=session["customer_email"],
        )
        self.emit("checkout.session.completed", session)
        return self.success_url(session)

    # -- billing portal ------------------------------------------------------------

    def create_portal_session(self, params):
        check_params(
            params,
            {
                "customer",
                "return_url",
                "configuration",
                "flow_data",
                "locale",
                "on_behalf_of",
            },
            required=["customer"],
        )
        customer = self.fetch("customer", params["customer"], "customer")
        session_id = self.new_id("billing_portal.session")
        session = shapes.portal_session(
            session_id,
            self.now(customer["id"]),
            customer["id"],
            params.get("return_url") or self.public_url + "/",
            f"{self.public_url}/portal/{session_id}",
        )
        session["locale"] = params.get("locale") or None
        self.save(session)
        self.emit("billing_portal.session.created", session)
        return self.render(session)

    def portal_subscriptions(self, session_id):
        """The portal session and the customer's subscriptions it can manage."""
        with self.lock:
            session = self.fetch("billing_portal.session", session_id)
            subs = [
                self.render(s)
                for s in self.objects_of("subscription")
                if s["customer"] == session["customer"]
            ]
            subs.sort(key=lambda s: -s["created"])
            return self.render(session), subs

    def portal_prices(self):
        """Active recurring prices a customer may switch to, with product names."""
        with self.lock:
            prices = [
                p
                for p in self.objects_of("price")
                if p["active"] and p["type"] == "recurring"
            ]
            prices.sort(key=lambda p: (self._price_name(p), p["unit_amount"] or 0))
            return [(self.render(p), self._price_name(p)) for p in prices]

    @public_change
    def portal_action(
        self, session_id, subscription_id, action, price=None, quantity=None
    ):
        """What the hosted portal does: switch_price, set_quantity, cancel_at_period_end,
        cancel_now or resume. Returns the subscription as the API shows it."""
        session = self.fetch("billing_portal.session", session_id)
        sub = self.fetch("subscription", subscription_id)
        if sub["customer"] != session["customer"]:
            raise missing("subscription", subscription_id)
        item = self._sub_items(sub)[0]
        if action == "switch_price":
            params = {"items": [{"id": item["id"], "price": price}]}
        elif action == "set_quantity":
            params = {"items": [{"id": item["id"], "quantity": str(quantity)}]}
        elif action == "cancel_at_period_end":
            params = {"cancel_at_period_end": "true"}
        elif action == "resume":
            params = {"cancel_at_period_end": "false"}
        elif action == "cancel_now":
            return self.cancel_subscription({}, subscription_id)
        else:
            raise invalid(f"Unknown portal action: {action}", param="action")
        return self.update_subscription(params, subscription_id)

    # -- events --------------------------------------------------------------------

    def retrieve_event(self, params, id):
        check_params(params, set())
        return self.render(self.fetch("event", id))

    def list_events(self, params):
        check_params(
            params, LIST_PARAMS | {"type", "types", "created", "delivery_success"}
        )
        events = self.objects_of("event")
        if params.get("type"):
            pattern = params["type"]
            if pattern.endswith("*"):
                events = [e for e in events if e["type"].startswith(pattern[:-1])]
            else:
                events = [e for e in events if e["type"] == pattern]
        if params.get("types"):
            types = set(as_list(params["types"], "types"))
            events = [e for e in events if e["type"] in types]
        matches = created_filter(params.get("created"))
        events = [e for e in events if matches(e["created"])]
        if "delivery_success" in params:
            wanted = as_bool(params["delivery_success"], "delivery_success")
            events = [e for e in events if (e["pending_webhooks"] == 0) == wanted]
        return self.list_response("/v1/events", events, params)

    # -- test clocks ---------------------------------------------------------------

    def create_test_clock(self, params):
        check_params(params, {"frozen_time", "name"}, required=["frozen_time"])
        frozen = as_int(params["frozen_time"], "frozen_time", minimum=0)
        clock = shapes.test_clock(
            self.new_id("test_helpers.test_clock"),
            int(self.clock()),
            frozen,
            params.get("name") or None,
        )
        self.save(clock)
        self.emit("test_helpers.test_clock.created", clock)
        return self.render(clock)

    def retrieve_test_clock(self, params, id):
        check_params(params, set())
        return self.render(self.fetch("test_helpers.test_clock", id))

    def list_test_clocks(self, params):
        return self.simple_list(
            "test_helpers.test_clock", "/v1/test_helpers/test_clocks", params
        )

    def delete_test_clock(self, params, id):
        check_params(params, set())
        clock = self.fetch("test_helpers.test_clock", id)
        for customer in self.objects_of("customer"):
            if customer["test_clock"] == id:
                self.delete_customer({}, customer["id"])
        self.remove(id)
        self.emit("test_helpers.test_clock.deleted", clock)
        return shapes.deleted("test_helpers.test_clock", id)

    def advance_test_clock(self, params, id):
        check_params(params, {"frozen_time"}, required=["frozen_time"])
        clock = self.fetch("test_helpers.test_clock", id)
        target = as_int(params["frozen_time"], "frozen_time")
        if target <= clock["frozen_time"]:
            raise invalid(
                "The frozen_time must be after the test clock's current frozen time.",
                param="frozen_time",
            )
        self.emit("test_helpers.test_clock.advancing", clock)
        customer_ids = {
            c["id"]
            for c in self.objects_of("customer")
            if c["test_clock"] == clock["id"]
        }
        self._run_steps(customer_ids, target, clock)
        clock["status"] = "ready"
        self.emit("test_helpers.test_clock.ready", clock)
        return self.render(clock)

    @public_change
    def new_test_clock(self, frozen_time, name=None):
        """Create a test clock without an API request (not counted); returns its id."""
        params = {"frozen_time": frozen_time, **({"name": name} if name else {})}
        return self.create_test_clock(params)["id"]

    @public_change
    def advance_clock(self, clock_id, frozen_time):
        """Advance a test clock without an API request (not counted); returns the clock."""
        return self.advance_test_clock({"frozen_time": frozen_time}, clock_id)

    def run_due_transitions(self):
        """Renew, retry and expire what is due in real time (customers without a clock)."""
        with self.lock:
            ids = {c["id"] for c in self.objects_of("customer") if not c["test_clock"]}
            done = self._run_steps(ids, int(self.clock()))
            if done:
                self._changed()
            return done
