"""Products, prices, customers and payment methods (the engine's catalog half)."""

import re

from . import shapes
from .errors import StripeError, card_declined, invalid, missing
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

# Stripe's test cards: number -> (brand, last4, behaviour). "decline" fails when the
# card is entered; "charge_fail" is accepted but every later charge fails.
TEST_CARDS = {
    "4242424242424242": ("visa", "4242", "success"),
    "5555555555554444": ("mastercard", "4444", "success"),
    "4000000000000002": ("visa", "0002", "decline"),
    "4000000000009995": ("visa", "9995", "decline"),
    "4000000000000341": ("visa", "0341", "charge_fail"),
}
# Stripe's test payment method tokens and the card each stands for.
TEST_TOKENS = {
    "pm_card_visa": "4242424242424242",
    "pm_card_mastercard": "5555555555554444",
    "pm_card_chargeDeclined": "4000000000000002",
    "pm_card_visa_chargeDeclined": "4000000000000002",
    "pm_card_chargeDeclinedInsufficientFunds": "4000000000009995",
    "pm_card_chargeCustomerFail": "4000000000000341",
}
CARD_ALIASES = {"success": "4242424242424242", "decline": "4000000000000002"}
DECLINE_CODES = {
    "0002": "generic_decline",
    "9995": "insufficient_funds",
    "0341": "generic_decline",
}

PRODUCT_FIELDS = {
    "active",
    "default_price_data",
    "description",
    "id",
    "images",
    "marketing_features",
    "metadata",
    "name",
    "package_dimensions",
    "shippable",
    "statement_descriptor",
    "tax_code",
    "type",
    "unit_label",
    "url",
}
PRICE_CREATE_FIELDS = {
    "active",
    "billing_scheme",
    "currency",
    "custom_unit_amount",
    "lookup_key",
    "metadata",
    "nickname",
    "product",
    "product_data",
    "recurring",
    "tax_behavior",
    "tiers",
    "tiers_mode",
    "transfer_lookup_key",
    "transform_quantity",
    "unit_amount",
    "unit_amount_decimal",
}
CUSTOMER_FIELDS = {
    "address",
    "balance",
    "description",
    "email",
    "invoice_prefix",
    "invoice_settings",
    "metadata",
    "name",
    "next_invoice_sequence",
    "payment_method",
    "phone",
    "preferred_locales",
    "shipping",
    "tax_exempt",
    "test_clock",
    "validate",
}
CURRENCY = re.compile(r"^[a-z]{3}$")
INTERVALS = {"day": 365 * 3, "week": 52 * 3, "month": 36, "year": 3}


def card_for(card):
    """Resolve 'success' / 'decline' / a card number / a pm_card_* token to a test card."""
    number = CARD_ALIASES.get(card, TEST_TOKENS.get(card, card))
    number = re.sub(r"\D", "", str(number))
    if number not in TEST_CARDS:
        raise StripeError(
            402,
            "Your card number is incorrect.",
            code="incorrect_number",
            param="number",
            error_type="card_error",
        )
    return TEST_CARDS[number]


class CatalogMixin:
    """Endpoints for the catalog and customers; mixed into Engine."""

    # -- products ------------------------------------------------------------------

    def _marketing_features(self, value):
        features = []
        for index, feature in enumerate(as_list(value, "marketing_features")):
            if not isinstance(feature, dict) or not feature.get("name"):
                raise invalid(
                    "Each marketing feature needs a name.",
                    param=f"marketing_features[{index}][name]",
                    code="parameter_missing",
                )
            features.append({"name": str(feature["name"])})
        return features

    def _apply_product_fields(self, product, params):
        texts = (
            "name",
            "description",
            "statement_descriptor",
            "tax_code",
            "unit_label",
        )
        for field in (*texts, "url"):
            if field in params:
                product[field] = params[field] or None
        if "active" in params:
            product["active"] = as_bool(params["active"], "active")
        if "shippable" in params:
            product["shippable"] = as_bool(params["shippable"], "shippable")
        if "images" in params:
            product["images"] = [str(i) for i in as_list(params["images"], "images")]
        if "metadata" in params:
            product["metadata"] = merge_metadata(
                product["metadata"], params["metadata"]
            )
        if "marketing_features" in params:
            product["marketing_features"] = self._marketing_features(
                params["marketing_features"]
            )
        if "default_price" in params:
            price = self.fetch("price", params["default_price"], "default_price")
            if price["product"] != product["id"]:
                raise invalid(
                    "The default price must belong to this product.",
                    param="default_price",
                )
            product["default_price"] = price["id"]

    def create_product(self, params):
        check_params(params, PRODUCT_FIELDS, required=["name"])
        product_id = params.get("id") or self.new_id("product")
        if product_id in self.state["objects"]:
            raise StripeError(
                400,
                f"Product already exists: {product_id}",
                code="resource_already_exists",
                param="id",
            )
        product = shapes.product(product_id, self.now(), params)
        self._apply_product_fields(product, params)
        if params.get("type") in ("service", "good"):
            product["type"] = params["type"]
        self.save(product)
        self.emit("product.created", product)
        if params.get("default_price_data"):
            price_params = dict(params["default_price_data"], product=product_id)
            price = self._create_price(price_params)
            before = clone(product)
            product["default_price"] = price["id"]
            self.emit("product.updated", product, self.diff(before, product))
        return self.render(product)

    def retrieve_product(self, params, id):
        check_params(params, set())
        return self.render(self.fetch("product", id))

    def update_product(self, params, id):
        check_params(
            params,
            PRODUCT_FIELDS - {"id", "type", "default_price_data"} | {"default_price"},
        )
        product = self.fetch("product", id)
        before = clone(product)
        self._apply_product_fields(product, params)
        changes = self.diff(before, product)
        if changes:
            product["updated"] = self.now()
            self.emit("product.updated", product, changes)
        return self.render(product)

    def delete_product(self, params, id):
        check_params(params, set())
        product = self.fetch("product", id)
        if any(p["product"] == id for p in self.objects_of("price")):
            raise invalid(
                "This product cannot be deleted because it has one or more user-created"
                " prices.",
                code="resource_already_exists",
            )
        self.remove(id)
        self.emit("product.deleted", product)
        return shapes.deleted("product", id)

    def list_products(self, params):
        check_params(
            params, LIST_PARAMS | {"active", "created", "ids", "shippable", "url"}
        )
        products = self.objects_of("product")
        if "active" in params:
            active = as_bool(params["active"], "active")
            products = [p for p in products if p["active"] == active]
        if params.get("ids"):
            ids = set(as_list(params["ids"], "ids"))
            products = [p for p in products if p["id"] in ids]
        matches = created_filter(params.get("created"))
        products = [p for p in products if matches(p["created"])]
        return self.list_response("/v1/products", products, params)

    def list_product_features(self, params, id):
        # Entitlement features are not emulated: every product has none.
        check_params(params, LIST_PARAMS)
        self.fetch("product", id)
        return shapes.empty_list(f"/v1/products/{id}/features")

    # -- prices --------------------------------------------------------------------

    def _tiers(self, raw, mode):
        tiers = []
        for index, tier in enumerate(as_list(raw, "tiers")):
            if not isinstance(tier, dict) or "up_to" not in tier:
                raise invalid("Each tier needs up_to.", param=f"tiers[{index}][up_to]")
            up_to = (
                None if tier["up_to"] == "inf" else as_int(tier["up_to"], "up_to", 1)
            )
            unit = as_int(tier.get("unit_amount", 0), f"tiers[{index}][unit_amount]", 0)
            flat = as_int(tier.get("flat_amount", 0), f"tiers[{index}][flat_amount]", 0)
            tiers.append(
                {
                    "up_to": up_to,
                    "unit_amount": unit,
                    "unit_amount_decimal": str(unit),
                    "flat_amount": flat,
                    "flat_amount_decimal": str(flat),
                }
            )
        if not tiers or tiers[-1]["up_to"] is not None:
            raise invalid("The last tier must have up_to=inf.", param="tiers")
        if mode not in ("graduated", "volume"):
            raise invalid("tiers_mode must be graduated or volume.", param="tiers_mode")
        return tiers

    def _create_price(self, params):
        if "product" in params and "product_data" in params:
            raise invalid(
                "You may only specify one of these parameters: product, product_data.",
                param="product",
            )
        if params.get("product_data"):
            data = params["product_data"]
            if not isinstance(data, dict) or not data.get("name"):
                raise invalid(
                    "Missing required param: product_data[name].",
                    param="product_data[name]",
                    code="parameter_missing",
                )
            allowed = {
                "name",
                "active",
                "metadata",
                "statement_descriptor",
                "tax_code",
                "unit_label",
                "id",
            }
            for key in data:
                if key not in allowed:
                    raise invalid(
                        f"Received unknown parameter: product_data[{key}]",
                        param=f"product_data[{key}]",
                        code="parameter_unknown",
                    )
            product_id = self.create_product(dict(data))["id"]
        elif params.get("product"):
            product_id = self.fetch("product", params["product"], "product")["id"]
        else:
            raise invalid(
                "Missing required param: product.",
                param="product",
                code="parameter_missing",
            )
        currency = str(params["currency"]).lower()
        if not CURRENCY.match(currency):
            raise invalid(
                f"Invalid currency: {params['currency']}.",
                param="currency",
                code="parameter_invalid_string",
            )
        price = shapes.price(self.new_id("price"), self.now(), product_id)
        price["currency"] = currency
        scheme = params.get("billing_scheme", "per_unit")
        if scheme == "tiered":
            mode = params.get("tiers_mode")
            self.private(price["id"])["tiers"] = self._tiers(params.get("tiers"), mode)
            price["billing_scheme"] = "tiered"
            price["tiers_mode"] = mode
        elif scheme == "per_unit":
            if "unit_amount" in params:
                amount = as_int(params["unit_amount"], "unit_amount", minimum=0)
            elif "unit_amount_decimal" in params:
                amount = as_int(
                    str(params["unit_amount_decimal"]).split(".")[0],
                    "unit_amount_decimal",
                    minimum=0,
                )
            else:
                raise invalid(
                    "Missing required param: unit_amount.",
                    param="unit_amount",
                    code="parameter_missing",
                )
            price["unit_amount"] = amount
            price["unit_amount_decimal"] = str(
                params.get("unit_amount_decimal", amount)
            )
        else:
            raise invalid(f"Invalid billing_scheme: {scheme}", param="billing_scheme")
        if params.get("recurring"):
            recurring = params["recurring"]
            if (
                not isinstance(recurring, dict)
                or recurring.get("interval") not in INTERVALS
            ):
                raise invalid(
                    "recurring[interval] must be day, week, month or year.",
                    param="recurring[interval]",
                )
            count = as_int(
                recurring.get("interval_count", 1), "recurring[interval_count]", 1
            )
            if count > INTERVALS[recurring["interval"]]:
                raise invalid(
                    "The billing interval is too long (at most three years).",
                    param="recurring[interval_count]",
                )
            trial = recurring.get("trial_period_days")
            price["recurring"] = {
                "interval": recurring["interval"],
                "interval_count": count,
                "meter": None,
                "trial_period_days": as_int(trial, "trial_period_days", 0)
                if trial
                else None,
                "usage_type": recurring.get("usage_type", "licensed"),
            }
            price["type"] = "recurring"
        self._apply_price_fields(price, params)
        self.save(price)
        self.emit("price.created", price)
        return price

    def _apply_price_fields(self, price, params):
        if "active" in params:
            price["active"] = as_bool(params["active"], "active")
        if "nickname" in params:
            price["nickname"] = params["nickname"] or None
        if "tax_behavior" in params:
            price["tax_behavior"] = params["tax_behavior"]
        if "metadata" in params:
            price["metadata"] = merge_metadata(price["metadata"], params["metadata"])
        if "lookup_key" in params:
            key = params["lookup_key"] or None
            holder = next(
                (
                    p
                    for p in self.objects_of("price")
                    if key and p["lookup_key"] == key and p["id"] != price["id"]
                ),
                None,
            )
            if holder is not None:
                if not as_bool(
                    params.get("transfer_lookup_key", "false"), "transfer_lookup_key"
                ):
                    raise invalid(
                        f"A price (`{holder['id']}`) already uses that lookup key.",
                        param="lookup_key",
                        code="parameter_invalid_string",
                    )
                before = clone(holder)
                holder["lookup_key"] = None
                self.emit("price.updated", holder, self.diff(before, holder))
            price["lookup_key"] = key

    def create_price(self, params):
        check_params(params, PRICE_CREATE_FIELDS, required=["currency"])
        return self.render(self._create_price(params))

    def retrieve_price(self, params, id):
        check_params(params, set())
        return self.render(self.fetch("price", id))

    def update_price(self, params, id):
        check_params(
            params,
            {
                "active",
                "metadata",
                "lookup_key",
                "nickname",
                "tax_behavior",
                "transfer_lookup_key",
            },
        )
        price = self.fetch("price", id)
        before = clone(price)
        self._apply_price_fields(price, params)
        changes = self.diff(before, price)
        if changes:
            self.emit("price.updated", price, changes)
        return self.render(price)

    def list_prices(self, params):
        check_params(
            params,
            LIST_PARAMS
            | {
                "active",
                "currency",
                "product",
                "type",
                "lookup_keys",
                "created",
                "recurring",
            },
        )
        prices = self.objects_of("price")
        if "active" in params:
            active = as_bool(params["active"], "active")
            prices = [p for p in prices if p["active"] == active]
        for field in ("product", "type", "currency"):
            if params.get(field):
                prices = [p for p in prices if p[field] == params[field]]
        if params.get("lookup_keys"):
            keys = set(as_list(params["lookup_keys"], "lookup_keys"))
            prices = [p for p in prices if p["lookup_key"] in keys]
        if isinstance(params.get("recurring"), dict) and params["recurring"].get(
            "interval"
        ):
            interval = params["recurring"]["interval"]
            prices = [
                p for p in prices if (p["recurring"] or {}).get("interval") == interval
            ]
        matches = created_filter(params.get("created"))
        prices = [p for p in prices if matches(p["created"])]
        return self.list_response("/v1/prices", prices, params)

    def price_amount(self, price, quantity):
        """What `quantity` units of `price` cost for one period, in minor units."""
        if price["billing_scheme"] == "per_unit":
            return (price["unit_amount"] or 0) * quantity
        tiers = self.private(price["id"])["tiers"]
        if price["tiers_mode"] == "volume":
            for tier in tiers:
                if tier["up_to"] is None or quantity <= tier["up_to"]:
                    return tier["unit_amount"] * quantity + tier["flat_amount"]
        total, lower = 0, 0
        for tier in tiers:
            upper = tier["up_to"] if tier["up_to"] is not None else max(quantity, lower)
            units = max(0, min(quantity, upper) - lower)
            if units:
                total += tier["unit_amount"] * units + tier["flat_amount"]
            lower = upper
            if quantity <= upper:
                break
        return total

    # -- customers -----------------------------------------------------------------

    def _apply_customer_fields(self, customer, params):
        for field in ("email", "name", "description", "phone"):
            if field in params:
                customer[field] = params[field] or None
        for field in ("address", "shipping"):
            if field in params:
                customer[field] = (
                    dict(shapes.address(), **params[field])
                    if isinstance(params[field], dict) and field == "address"
                    else (params[field] or None)
                )
        if "metadata" in params:
            customer["metadata"] = merge_metadata(
                customer["metadata"], params["metadata"]
            )
        if "preferred_locales" in params:
            customer["preferred_locales"] = as_list(
                params["preferred_locales"], "preferred_locales"
            )
        if "tax_exempt" in params:
            customer["tax_exempt"] = params["tax_exempt"] or "none"
        if "balance" in params:
            customer["balance"] = as_int(params["balance"], "balance")
        settings = params.get("invoice_settings")
        if isinstance(settings, dict) and "default_payment_method" in settings:
            pm_id = settings["default_payment_method"]
            if pm_id:
                pm = self.fetch(
                    "payment_method", pm_id, "invoice_settings[default_payment_method]"
                )
                if pm["customer"] != customer["id"]:
                    raise invalid(
                        f"The payment method `{pm_id}` is not attached to this customer.",
                        param="invoice_settings[default_payment_method]",
                    )
            customer["invoice_settings"]["default_payment_method"] = pm_id or None

    def create_customer(self, params):
        check_params(params, CUSTOMER_FIELDS)
        sequence = len(self.objects_of("customer")) + 1
        customer = shapes.customer(self.new_id("customer"), self.now(), sequence)
        if params.get("test_clock"):
            customer["test_clock"] = self.fetch(
                "test_helpers.test_clock", params["test_clock"], "test_clock"
            )["id"]
            customer["created"] = self.state["objects"][customer["test_clock"]][
                "frozen_time"
            ]
        self.save(customer)
        settings = params.get("invoice_settings") or {}
        rest = {k: v for k, v in params.items() if k != "invoice_settings"}
        try:
            self._apply_customer_fields(customer, rest)
            pm = None
            if params.get("payment_method"):
                pm = self.attach_card(
                    customer["id"], params["payment_method"], emit=False
                )
            if isinstance(settings, dict) and settings.get("default_payment_method"):
                self._apply_customer_fields(customer, {"invoice_settings": settings})
        except StripeError:
            self.remove(customer["id"])
            raise
        self.emit("customer.created", customer)
        if pm is not None:
            self.emit("payment_method.attached", pm)
        return self.render(customer)

    def retrieve_customer(self, params, id):
        check_params(params, set())
        if self.private(id).get("deleted"):
            return shapes.deleted("customer", id)
        return self.render(self.fetch("customer", id))

    def update_customer(self, params, id):
        check_params(
            params, CUSTOMER_FIELDS - {"test_clock", "payment_method"} | {"source"}
        )
        customer = self.fetch("customer", id)
        before = clone(customer)
        self._apply_customer_fields(customer, params)
        changes = self.diff(before, customer)
        if changes:
            self.emit("customer.updated", customer, changes)
        return self.render(customer)

    def delete_customer(self, params, id):
        check_params(params, set())
        customer = self.fetch("customer", id)
        for sub in self.objects_of("subscription"):
            if sub["customer"] == id and sub["status"] not in (
                "canceled",
                "incomplete_expired",
            ):
                self.end_subscription(
                    sub, self.now(id), reason="cancellation_requested"
                )
        self.remove(id)
        self.private(id)["deleted"] = True
        self.emit("customer.deleted", customer)
        return shapes.deleted("customer", id)

    def list_customers(self, params):
        return self.simple_list(
            "customer", "/v1/customers", params, filters=("email", "test_clock")
        )

    def list_customer_sources(self, params, id):
        check_params(params, LIST_PARAMS | {"object"})
        self.fetch("customer", id)
        return shapes.empty_list(f"/v1/customers/{id}/sources")

    def list_customer_tax_ids(self, params, id):
        check_params(params, LIST_PARAMS)
        self.fetch("customer", id)
        return shapes.empty_list(f"/v1/customers/{id}/tax_ids")

    # -- payment methods -----------------------------------------------------------

    def attach_card(self, customer_id, card, emit=True):
        """Create a card payment method from a test card and attach it to the customer."""
        brand, last4, behaviour = card_for(card)
        if behaviour == "decline":
            raise card_declined(param="payment_method")
        pm = shapes.payment_method(
            self.new_id("payment_method"),
            self.now(customer_id),
            {"brand": brand, "last4": last4},
            customer_id,
        )
        self.save(pm)
        self.private(pm["id"])["behaviour"] = behaviour
        if emit:
            self.emit("payment_method.attached", pm)
        return pm

    def default_payment_method(self, customer_id, subscription=None):
        """The card a charge uses: the subscription's, the customer's default, or the latest."""
        objects = self.state["objects"]
        if subscription and subscription.get("default_payment_method") in objects:
            return objects[subscription["default_payment_method"]]
        customer = objects.get(customer_id)
        if customer is None:
            return None
        pm_id = customer["invoice_settings"]["default_payment_method"]
        if pm_id in objects:
            return objects[pm_id]
        attached = [
            p for p in self.objects_of("payment_method") if p["customer"] == customer_id
        ]
        attached.sort(key=lambda p: self.state["seq"][p["id"]])
        return attached[-1] if attached else None

    def set_payment_behaviour(self, customer_id, behaviour):
        """Make the customer's card succeed ('success') or fail ('fail') from now on."""
        with self.lock:
            pm = self.default_payment_method(customer_id)
            if pm is None:
                raise missing("payment method for customer", customer_id)
            self.private(pm["id"])["behaviour"] = (
                "success" if behaviour == "success" else "charge_fail"
            )
            self._changed()

    def charge_succeeds(self, customer_id, subscription=None):
        """Whether charging the customer now would succeed, and the decline code if not."""
        pm = self.default_payment_method(customer_id, subscription)
        if pm is None:
            return False, "no_payment_method"
        if self.private(pm["id"]).get("behaviour", "success") == "success":
            return True, None
        return False, DECLINE_CODES.get(pm["card"]["last4"], "generic_decline")

    def retrieve_payment_method(self, params, id):
        check_params(params, set())
        if id in TEST_TOKENS:
            raise missing("payment_method", id)
        return self.render(self.fetch("payment_method", id))

    def list_payment_methods(self, params):
        check_params(params, LIST_PARAMS | {"customer", "type"})
        pms = self.objects_of("payment_method")
        if params.get("customer"):
            pms = [p for p in pms if p["customer"] == params["customer"]]
        if params.get("type"):
            pms = [p for p in pms if p["type"] == params["type"]]
        return self.list_response("/v1/payment_methods", pms, params)

    def list_customer_payment_methods(self, params, id):
        check_params(params, LIST_PARAMS | {"type", "allow_redisplay"})
        self.fetch("customer", id)
        pms = [p for p in self.objects_of("payment_method") if p["customer"] == id]
        return self.list_response(f"/v1/customers/{id}/payment_methods", pms, params)

    def attach_payment_method(self, params, id):
        check_params(params, {"customer"}, required=["customer"])
        customer = self.fetch("customer", params["customer"], "customer")
        if id in TEST_TOKENS:
            return self.render(self.attach_card(customer["id"], id))
        pm = self.fetch("payment_method", id)
        pm["customer"] = customer["id"]
        self.emit("payment_method.attached", pm)
        return self.render(pm)

    def detach_payment_method(self, params, id):
        check_params(params, set())
        pm = self.fetch("payment_method", id)
        customer = self.state["objects"].get(pm["customer"])
        if customer and customer["invoice_settings"]["default_payment_method"] == id:
            before = clone(customer)
            customer["invoice_settings"]["default_payment_method"] = None
            self.emit("customer.updated", customer, self.diff(before, customer))
        pm["customer"] = None
        self.emit("payment_method.detached", pm)
        return self.render(pm)
