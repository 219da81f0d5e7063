"""The control routes under /_emulator/ (tests and scripts: faults, deliveries,
settings, paying a session, reset), each parameter checked like an API one."""

import json
from typing import Any

from .encoding import parse_params
from .engine import FAULT_STATUSES, Engine
from .errors import StripeError, invalid, parameter_missing, parameter_unknown
from .params import as_int, as_string
from .settings import as_number
from .shapes import JSON

FAULT_METHODS = ("GET", "POST", "DELETE")
MAX_HANG_SECONDS = 600


def control_params(content_type: str, body: bytes, query: str) -> JSON:
    """The query string's parameters, then the body's (form-encoded or JSON)."""
    params = parse_params(query) if query else {}
    if body and "json" in content_type:
        try:
            data = json.loads(body)
        except ValueError:
            raise invalid("Invalid request: the body is not valid JSON.") from None
        if not isinstance(data, dict):
            raise invalid("Invalid request: the JSON body must be an object.")
        params.update(data)
    elif body:
        params.update(parse_params(body))
    return params


def _optional(params: JSON, name: str) -> str | None:
    value = params.get(name)
    return as_string(value, name) if value not in (None, "") else None


def _add_fault(engine: Engine, params: JSON) -> None:
    path = _optional(params, "path")
    if not path:
        raise parameter_missing("path")
    status: Any = params.get("status", 500)
    if status != "timeout":
        status = as_int(status, "status")
    if status not in FAULT_STATUSES:
        raise invalid("status must be 500, 429, 503 or timeout", param="status")
    method = (_optional(params, "method") or "").upper() or None
    if method is not None and method not in FAULT_METHODS:
        raise invalid(
            f"method must be one of {', '.join(FAULT_METHODS)}.", param="method"
        )
    engine.add_fault(
        path,
        times=as_int(params.get("times", params.get("n", "1")), "times", minimum=1),
        status=status,
        method=method,
        hang_seconds=as_number(
            params.get("hang_seconds", 30), "hang_seconds", MAX_HANG_SECONDS
        ),
    )


def answer(engine: Engine, method: str, path: str, params: JSON) -> tuple[int, Any]:
    """(status, JSON answer) of a control route; Stripe's 4xx error when refused."""
    segments = path.strip("/").split("/")[1:]
    if segments == ["faults"]:
        if method == "POST":
            _add_fault(engine, params)
        elif method == "DELETE":
            engine.clear_faults()
        return 200, {"faults": list(engine.faults)}
    if segments == ["deliveries"] and method == "GET":
        return 200, {"deliveries": engine.deliveries(_optional(params, "event"))}
    if len(segments) == 3 and segments[0] == "events" and segments[2] == "redeliver":
        if method == "POST":
            return 200, {
                "queued": engine.redeliver(segments[1], _optional(params, "endpoint"))
            }
    elif len(segments) == 3 and segments[0] == "checkout" and segments[2] == "complete":
        if method == "POST":
            url = engine.complete_checkout(
                segments[1],
                card=_optional(params, "card") or "success",
                email=_optional(params, "email"),
                promotion_code=_optional(params, "promotion_code"),
            )
            return 200, {"redirect": url}
    elif segments == ["settings"]:
        current = engine.settings()
        if method != "POST":
            return 200, current
        for name in params:
            if name not in current:
                raise parameter_unknown(name)
        return 200, engine.settings(**params)
    elif segments == ["requests"]:
        counts = [
            {"method": m, "path": p, "count": n}
            for (m, p), n in sorted(engine.request_counts.items())
        ]
        return 200, {"requests": counts}
    elif segments == ["reset"] and method == "POST":
        engine.reset()
        return 200, {"reset": True}
    elif segments in ([], [""]) and method == "GET":
        return 200, {"objects": engine.summary(), "faults": list(engine.faults)}
    raise StripeError(404, f"Unrecognized control route ({method}: {path}).")
