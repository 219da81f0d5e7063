"""Reading Stripe's form parameters: types, allowed names, metadata updates."""

import json
import re
from collections.abc import Callable, Collection, Iterable
from typing import Any
from urllib.parse import urlsplit

from .errors import invalid, parameter_missing, parameter_unknown

# Parameters every list endpoint takes.
LIST_PARAMS = frozenset({"limit", "starting_after", "ending_before", "expand"})
# Stripe's limits: https://docs.stripe.com/metadata#data
METADATA_KEYS = 50
METADATA_KEY_LENGTH = 40
METADATA_VALUE_LENGTH = 500
# Stripe's integers are 64-bit; its strings (URLs included) hold 5000 characters.
INTEGER_LIMIT = 2**63
INTEGER = re.compile(r"-?[0-9]{1,19}")
# Timestamps end before 2200: far past any test, and dates stay computable.
MAX_TIMESTAMP = 7_258_118_400
# Stripe's longest trial.
MAX_TRIAL_DAYS = 730
STRING_LENGTH = 5000
# Whitespace or control characters, which no URL Stripe takes contains.
UNSAFE_IN_URL = re.compile(r"[\s\x00-\x1f\x7f]")


def clone(value: Any) -> Any:
    """Deep copy of JSON-shaped data (faster than copy.deepcopy)."""
    if isinstance(value, dict):
        return {k: clone(v) for k, v in value.items()}
    if isinstance(value, list):
        return [clone(v) for v in value]
    return value


def as_bool(value: Any, param: str) -> bool:
    """Stripe's form booleans: 'true' / 'false' (real booleans pass through)."""
    if isinstance(value, bool):
        return value
    if value in ("true", "false"):
        return value == "true"
    raise invalid(
        f"Invalid boolean: {value}", param=param, code="parameter_invalid_boolean"
    )


def as_string(value: Any, param: str) -> str:
    """A form string: an array or a hash in its place is Stripe's 400."""
    if isinstance(value, str):
        return value
    raise invalid(
        f"Invalid string: {json.dumps(value)}",
        param=param,
        code="parameter_invalid_string",
    )


def as_strings(value: Any, param: str) -> list[str]:
    """A form array of strings (a lone string becomes a one-item list)."""
    return [as_string(item, param) for item in as_list(value, param)]


def as_url(value: Any, param: str) -> str:
    """An absolute http(s) URL, as Stripe requires of every URL it redirects to
    or posts to (test mode takes http as well as https)."""
    url = as_string(value, param)
    try:
        parts = urlsplit(url)
        host = parts.hostname
    except ValueError:
        host = None
    if (
        len(url) > STRING_LENGTH
        or parts.scheme not in ("http", "https")
        or not host
        or UNSAFE_IN_URL.search(url)
    ):
        raise invalid("Not a valid URL", param=param, code="url_invalid")
    return url


def as_int(
    value: Any, param: str, minimum: int | None = None, maximum: int | None = None
) -> int:
    """A form integer, with Stripe's error for anything else."""
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    else:
        # Digits only: Python's int() would also take "1_000", " 5" or "٣".
        if not isinstance(value, str) or not INTEGER.fullmatch(value):
            raise invalid(
                f"Invalid integer: {value}",
                param=param,
                code="parameter_invalid_integer",
            )
        number = int(value)
    if not -INTEGER_LIMIT <= number < INTEGER_LIMIT:
        raise invalid(
            f"Invalid integer: {value}", param=param, code="parameter_invalid_integer"
        )
    if minimum is not None and number < minimum:
        raise invalid(
            f"This value must be greater than or equal to {minimum}.",
            param=param,
            code="parameter_invalid_integer",
        )
    if maximum is not None and number > maximum:
        raise invalid(
            f"This value must be less than or equal to {maximum}.",
            param=param,
            code="parameter_invalid_integer",
        )
    return number


def as_timestamp(value: Any, param: str) -> int:
    """A Unix timestamp (seconds) between 1970 and 2200."""
    return as_int(value, param, minimum=0, maximum=MAX_TIMESTAMP)


def check_params(
    params: dict[str, Any], allowed: Collection[str], required: Iterable[str] = ()
) -> None:
    """Answer 400 for parameters the endpoint does not take or that are missing."""
    for name in params:
        if name not in allowed and name != "expand":
            raise parameter_unknown(name)
    for name in required:
        if params.get(name) in (None, "", [], {}):
            raise parameter_missing(name)


def check_nested(value: Any, allowed: Collection[str], param: str) -> dict[str, Any]:
    """A nested object parameter (`param[key]=...`) holding only `allowed` keys."""
    if value in (None, ""):
        return {}
    if not isinstance(value, dict):
        raise invalid("Invalid object", param=param, code="parameter_invalid_object")
    for key in value:
        if key not in allowed:
            raise parameter_unknown(f"{param}[{key}]")
    return value


def merge_metadata(
    current: dict[str, str] | None, update: Any, param: str = "metadata"
) -> dict[str, str]:
    """Stripe's metadata update: '' clears all, a key set to '' is removed; at most
    50 keys of up to 40 characters, each value a string of up to 500."""
    if update in ("", None):
        return {}
    if not isinstance(update, dict):
        raise invalid("Invalid object", param=param, code="parameter_invalid_object")
    merged = dict(current or {})
    for key, value in update.items():
        where = f"{param}[{key}]"
        value = as_string(value, where)
        if len(str(key)) > METADATA_KEY_LENGTH:
            raise invalid(
                f"Metadata keys can have up to {METADATA_KEY_LENGTH} characters.",
                param=where,
                code="parameter_invalid_string",
            )
        if len(value) > METADATA_VALUE_LENGTH:
            raise invalid(
                f"Metadata values can have up to {METADATA_VALUE_LENGTH} characters.",
                param=where,
                code="parameter_invalid_string",
            )
        if value == "":
            merged.pop(key, None)
        else:
            merged[str(key)] = value
    if len(merged) > METADATA_KEYS:
        raise invalid(
            f"Metadata can have up to {METADATA_KEYS} keys.",
            param=param,
            code="parameter_invalid_object",
        )
    return merged


def as_list(value: Any, param: str) -> list[Any]:
    """A form array (sent as a[0]=x or a[]=x); a lone value becomes a one-item list."""
    if value in (None, ""):
        return []
    if isinstance(value, list):
        return value
    if isinstance(value, dict):
        raise invalid("Invalid array", param=param, code="parameter_invalid_array")
    return [value]


def created_filter(value: Any, param: str = "created") -> Callable[[int], bool]:
    """A predicate for `created` (an integer or created[gt|gte|lt|lte])."""
    if value in (None, ""):
        return lambda ts: True
    if not isinstance(value, dict):
        exact = as_int(value, param)
        return lambda ts: ts == exact
    bounds = {}
    for op, raw in value.items():
        if op not in ("gt", "gte", "lt", "lte"):
            raise parameter_unknown(f"{param}[{op}]")
        bounds[op] = as_int(raw, f"{param}[{op}]")
    checks = {
        "gt": lambda ts, b: ts > b,
        "gte": lambda ts, b: ts >= b,
        "lt": lambda ts, b: ts < b,
        "lte": lambda ts, b: ts <= b,
    }
    return lambda ts: all(checks[op](ts, bound) for op, bound in bounds.items())
