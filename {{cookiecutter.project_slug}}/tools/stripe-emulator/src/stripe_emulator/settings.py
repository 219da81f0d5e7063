"""The emulator's own settings (dunning schedule, webhook retries and timeout),
checked when they are changed so that a bad value never reaches the engine."""

import json
import math
import re
from typing import Any

from .errors import invalid, parameter_unknown
from .shapes import JSON

FINAL_PAYMENT_FAILURES = ("cancel", "unpaid", "past_due")
DECIMAL = re.compile(r"[0-9]+(\.[0-9]+)?")
# Generous bounds that still keep a typo from parking a retry for centuries.
MAX_RETRY_DAYS = 365
MAX_WEBHOOK_DELAY = 3 * 24 * 3600
MAX_WEBHOOK_TIMEOUT = 300
MAX_ATTEMPTS = 20


def as_number(value: Any, param: str, maximum: float) -> float | int:
    """A number from 0 to `maximum`, from JSON or from a form string."""
    if isinstance(value, str) and DECIMAL.fullmatch(value):
        value = float(value) if "." in value else int(value)
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float))
        or not math.isfinite(value)
        or not 0 <= value <= maximum
    ):
        raise invalid(
            f"{param} must be a number from 0 to {maximum}, not {value!r}.",
            param=param,
            code="parameter_invalid_integer",
        )
    return value


def _numbers(value: Any, param: str, maximum: float) -> list[float | int]:
    """A list of numbers: a JSON list, a form array, or a JSON text like "[1, 2]"."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            value = None
    if not isinstance(value, list) or len(value) > MAX_ATTEMPTS:
        raise invalid(
            f"{param} must be a list of up to {MAX_ATTEMPTS} numbers.",
            param=param,
            code="parameter_invalid_array",
        )
    return [
        as_number(item, f"{param}[{index}]", maximum)
        for index, item in enumerate(value)
    ]


def check_settings(current: JSON, changes: dict[str, Any]) -> JSON:
    """The checked, typed changes; Stripe's 400 for an unknown or a bad one."""
    checked: JSON = {}
    for name, value in changes.items():
        if name not in current:
            raise parameter_unknown(name)
        if name == "payment_retry_days":
            checked[name] = _numbers(value, name, MAX_RETRY_DAYS)
        elif name == "webhook_retry_delays":
            checked[name] = _numbers(value, name, MAX_WEBHOOK_DELAY)
        elif name == "webhook_timeout":
            timeout = as_number(value, name, MAX_WEBHOOK_TIMEOUT)
            if not timeout:
                raise invalid("webhook_timeout must be more than 0.", param=name)
            checked[name] = timeout
        elif value in FINAL_PAYMENT_FAILURES:  # final_payment_failure
            checked[name] = value
        else:
            raise invalid(
                f"final_payment_failure must be one of {', '.join(FINAL_PAYMENT_FAILURES)}.",
                param=name,
                code="parameter_invalid_string",
            )
    return checked
