"""Billing on the subscriber's admin: actions to cancel, undo, resume, change plan,
end at a date, credit or debit the wallet and refund a payment, and deletion that ends the Stripe subscription first.

`SubscriptionsConfig.ready()` calls `install_billing_admin()`, which lays
`SubscriberBillingAdmin` over whatever ModelAdmin the site registered for the
subscriber model (`DJSTRIPE_SUBSCRIBER_MODEL`): the subscriber's own app keeps a
plain admin, and no other model gets billing actions.
"""

from decimal import Decimal
from uuid import uuid4

import stripe
from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.admin.utils import unquote
from django.db import transaction
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse

from . import lifecycle, refunds, wallet
from .metadata import get_product_metadata
from .money import format_amount, to_minor_units
from .selectors import live_subscriptions, prices_for_sale, subscription_plan
from .stripe_client import describe_stripe_error
from .subscribers import get_subscriber_model, subscriber_display_name

PRORATION_CHOICES = [
    ("create_prorations", "Prorate on the next invoice"),
    ("always_invoice", "Prorate and invoice now"),
    ("none", "No proration"),
]


def price_label(price) -> str:
    product = get_product_metadata(price.product_id)
    name = product.name if product else price.product_id
    data = price.stripe_data
    interval = (data.get("recurring") or {}).get("interval", "")
    amount = data.get("unit_amount")
    shown = format_amount(amount, price.currency) if amount is not None else "custom"
    return f"{name}: {shown} a {interval}"


class ChangePlanForm(forms.Form):
    price = forms.ChoiceField(label="New price")
    proration_behavior = forms.ChoiceField(label="Proration", choices=PRORATION_CHOICES)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["price"].choices = [
            (price.id, price_label(price)) for price in prices_for_sale()
        ]
        proration = self.fields["proration_behavior"]
        proration.initial = settings.SUBSCRIPTIONS_PRORATION_BEHAVIOR


class EndAtForm(forms.Form):
    when = forms.DateTimeField(
        label="End on",
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
        help_text=f"In the site's time zone ({settings.TIME_ZONE}).",
    )


class WalletForm(forms.Form):
    direction = forms.ChoiceField(
        choices=[("credit", "Credit the wallet"), ("debit", "Debit the wallet")]
    )
    amount = forms.DecimalField(
        min_value=Decimal("0.01"),
        decimal_places=2,
        help_text="In the currency of the customer's balance (usually dollars).",
    )
    reason = forms.CharField(
        max_length=500, help_text="Shown on the customer's wallet and in Stripe."
    )
    # One credit per form shown: a second submission of the same form repeats the
    # Stripe request under the same idempotency key instead of crediting again.
    token = forms.CharField(widget=forms.HiddenInput, initial=lambda: uuid4().hex)


class RefundForm(forms.Form):
    payment = forms.ChoiceField()
    amount = forms.DecimalField(
        required=False,
        min_value=Decimal("0.01"),
        decimal_places=2,
        help_text="Leave empty to refund all that remains of the payment.",
    )
    reason = forms.ChoiceField(choices=refunds.REFUND_REASONS, required=False)
    note = forms.CharField(
        max_length=500, help_text="Why: kept with the refund and told the customer."
    )
    token = forms.CharField(widget=forms.HiddenInput, initial=lambda: uuid4().hex)

    def __init__(self, *args, payments=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.payments = {payment.key: payment for payment in payments}
        self.fields["payment"].choices = [
            (
                payment.key,
                f"{payment.label}: {format_amount(payment.remaining, payment.currency)}"
                " left to refund",
            )
            for payment in payments
        ]

    def clean(self):
        data = super().clean()
        payment = self.payments.get(data.get("payment"))
        if payment is not None and data.get("amount") is not None:
            amount = to_minor_units(data["amount"], payment.currency)
            if amount is None or amount > payment.remaining:
                left = format_amount(payment.remaining, payment.currency)
                self.add_error("amount", f"At most {left} remains to refund.")
            data["amount_minor"] = amount
        return data


class SubscriberBillingAdmin:
    """Billing actions and a deletion that cancels first, for the subscriber's admin."""

    billing_actions = (
        "cancel_subscription_now",
        "cancel_subscription_at_period_end",
        "undo_subscription_cancellation",
        "resume_subscription",
        "change_subscription_plan",
        "end_subscription_at",
        "adjust_wallet",
        "refund_payment",
    )
    billing_action_template = "admin/subscriptions/billing_action.html"

    def get_actions(self, request):
        actions = super().get_actions(request)
        if self.has_change_permission(request):
            for name in self.billing_actions:
                actions[name] = self.get_action(name)
        return actions

    # Each subscriber's change is one Stripe call and one commit of its own; the
    # request-wide transaction (ATOMIC_REQUESTS) would keep the first subscriber's
    # rows locked while Stripe is called for the next.
    @transaction.non_atomic_requests
    def changelist_view(self, request, extra_context=None):
        return super().changelist_view(request, extra_context)

    def _for_each(self, request, queryset, change, done: str) -> list:
        """Run `change(subscriber)` for each; a message per subscriber; the failed."""
        failed = []
        for subscriber in queryset:
            name = subscriber_display_name(subscriber) or str(subscriber)
            try:
                change(subscriber)
            except (
                lifecycle.LifecycleError,
                refunds.RefundError,
                wallet.WalletError,
            ) as error:
                failed.append(subscriber)
                messages.error(request, f"{name}: {error}")
            except stripe.StripeError as error:
                failed.append(subscriber)
                messages.error(request, f"{name}: {describe_stripe_error(error)}")
            else:
                messages.success(request, done.format(name=name))
        return failed

    @admin.action(description="Cancel the subscription now")
    def cancel_subscription_now(self, request, queryset):
        self._for_each(
            request, queryset, lifecycle.cancel_now, "Canceled {name}'s subscription."
        )

    @admin.action(description="Cancel the subscription at the period end")
    def cancel_subscription_at_period_end(self, request, queryset):
        self._for_each(
            request,
            queryset,
            lifecycle.cancel_at_period_end,
            "{name}'s subscription ends at the end of its period.",
        )

    @admin.action(description="Undo the subscription's cancellation")
    def undo_subscription_cancellation(self, request, queryset):
        self._for_each(
            request,
            queryset,
            lifecycle.undo_cancellation,
            "{name}'s subscription renews again.",
        )

    @admin.action(description="Resume the paused subscription")
    def resume_subscription(self, request, queryset):
        self._for_each(
            request, queryset, lifecycle.resume, "Resumed {name}'s subscription."
        )

    @admin.action(description="Change the subscription's plan...")
    def change_subscription_plan(self, request, queryset):
        form = ChangePlanForm(request.POST if "apply" in request.POST else None)
        if not form.is_valid():
            return self._form_page(
                request, queryset, form, "change_subscription_plan", "Change plan"
            )
        price = form.cleaned_data["price"]
        proration = form.cleaned_data["proration_behavior"]
        self._for_each(
            request,
            queryset,
            lambda subscriber: lifecycle.change_plan(subscriber, price, proration),
            "Changed {name}'s plan.",
        )
        return None

    @admin.action(description="End the subscription on a date...")
    def end_subscription_at(self, request, queryset):
        form = EndAtForm(request.POST if "apply" in request.POST else None)
        if not form.is_valid():
            return self._form_page(
                request, queryset, form, "end_subscription_at", "End on a date"
            )
        when = form.cleaned_data["when"]
        self._for_each(
            request,
            queryset,
            lambda subscriber: lifecycle.end_at(subscriber, when),
            "{name}'s subscription ends on " + f"{when:%Y-%m-%d %H:%M}.",
        )
        return None

    @admin.action(description="Credit or debit the wallet...")
    def adjust_wallet(self, request, queryset):
        form = WalletForm(request.POST if "apply" in request.POST else None)
        if not form.is_valid():
            return self._form_page(
                request, queryset, form, "adjust_wallet", "Credit or debit the wallet"
            )
        data = form.cleaned_data
        debit = data["direction"] == "debit"

        def adjust(subscriber):
            currency = wallet.wallet_currency(subscriber.customer)
            amount = to_minor_units(data["amount"], currency)
            if amount is None:
                raise wallet.WalletError(f"{currency.upper()} has no such fractions.")
            key = f"{data['token']}-{subscriber.pk}"
            return wallet.adjust_wallet(
                subscriber, amount, data["reason"], debit=debit, key=key
            )

        self._for_each(
            request,
            queryset,
            adjust,
            ("Debited" if debit else "Credited") + " {name}'s wallet.",
        )
        return None

    @admin.action(description="Refund a payment...")
    def refund_payment(self, request, queryset):
        if queryset.count() != 1:
            messages.error(request, "Choose one subscriber to refund a payment of.")
            return None
        subscriber = queryset.get()
        payments = refunds.refundable_payments(subscriber)
        if not payments:
            messages.error(request, "Nothing of this subscriber's is left to refund.")
            return None
        data = request.POST if "apply" in request.POST else None
        form = RefundForm(data, payments=payments)
        if not form.is_valid():
            return self._form_page(
                request, queryset, form, "refund_payment", "Refund a payment"
            )
        data = form.cleaned_data
        self._for_each(
            request,
            [subscriber],
            lambda subscriber: refunds.refund_payment(
                subscriber,
                data["payment"],
                amount=data.get("amount_minor"),
                reason=data["reason"],
                note=data["note"],
                key=data["token"],
            ),
            "Refunded a payment of {name}.",
        )
        return None

    def _form_page(self, request, queryset, form, action, title):
        rows = [
            (subscriber, subscription_plan(subscriber.subscription))
            for subscriber in queryset.select_related("subscription")
        ]
        context = {
            **self.admin_site.each_context(request),
            "title": title,
            "opts": self.model._meta,
            "form": form,
            "rows": rows,
            "action": action,
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
            "media": self.media + form.media,
        }
        return TemplateResponse(request, self.billing_action_template, context)

    # -- deletion -------------------------------------------------------------------

    def get_deleted_objects(self, objs, request):
        """On the confirmation pages, warn that a billed subscriber's Stripe
        subscription is canceled with it."""
        found = super().get_deleted_objects(objs, request)
        if not request.POST.get("post"):
            for subscriber in objs:
                if live_subscriptions(subscriber):
                    name = subscriber_display_name(subscriber) or str(subscriber)
                    messages.warning(
                        request,
                        f"{name} has a subscription in Stripe: deleting it cancels "
                        "that subscription now, without a refund.",
                    )
        return found

    def _cancel_before_delete(self, request, subscribers) -> list:
        # With a Stripe customer, Stripe may hold subscriptions the rows lack.
        billed = [s for s in subscribers if s.customer_id or live_subscriptions(s)]
        return self._for_each(
            request,
            billed,
            lifecycle.cancel_before_deletion,
            "Canceled {name}'s subscription before deleting it.",
        )

    @transaction.non_atomic_requests
    def delete_view(self, request, object_id, extra_context=None):
        # Stripe is called before the deletion's transaction; a failure keeps the
        # subscriber, with the error on the confirmation page.
        if request.method == "POST":
            obj = self.get_object(request, unquote(object_id))
            if obj is not None and self.has_delete_permission(request, obj):
                _, _, perms_needed, protected = self.get_deleted_objects([obj], request)
                refused = perms_needed or protected
                if not refused and self._cancel_before_delete(request, [obj]):
                    return HttpResponseRedirect(request.path)
        return super().delete_view(request, object_id, extra_context)

    def delete_queryset(self, request, queryset):
        failed = self._cancel_before_delete(request, list(queryset))
        super().delete_queryset(
            request, queryset.exclude(pk__in=[s.pk for s in failed])
        )


def install_billing_admin(site=admin.site) -> None:
    """Lay `SubscriberBillingAdmin` over the subscriber model's registered admin."""
    model = get_subscriber_model()
    if not site.is_registered(model):
        return
    registered = type(site.get_model_admin(model))
    if issubclass(registered, SubscriberBillingAdmin):
        return
    billing_admin = type(
        registered.__name__,
        (SubscriberBillingAdmin, registered),
        {"__module__": registered.__module__},
    )
    site.unregister(model)
    site.register(model, billing_admin)
