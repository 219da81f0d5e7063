"""Stripe's request encoding: form bodies and query strings in bracket notation."""

from typing import Any
from urllib.parse import parse_qsl

from .errors import StripeError
from .params import STRING_LENGTH


def _malformed(key: str) -> StripeError:
    return StripeError(
        400,
        f"Invalid request: could not parse the parameter name '{key}'.",
        code="parameter_invalid_empty",
        param=key,
    )


def _split_key(key: str) -> list[str]:
    """Split 'a[b][0][c]' into ['a', 'b', '0', 'c'] ('a[]' gives ['a', ''])."""
    head, sep, rest = key.partition("[")
    if not head:
        raise _malformed(key)
    parts = [head]
    while sep:
        inner, closed, rest = rest.partition("]")
        if not closed:
            raise _malformed(key)
        parts.append(inner)
        if not rest:
            break
        if not rest.startswith("["):
            raise _malformed(key)
        rest = rest[1:]
    return parts


def _to_lists(node: Any) -> Any:
    """Turn dicts whose keys are all integers (indexes or appends) into lists."""
    if isinstance(node, dict):
        if node and all(isinstance(k, int) for k in node):
            return [_to_lists(node[k]) for k in sorted(node)]
        return {k: _to_lists(v) for k, v in node.items()}
    return node


def parse_params(raw: str | bytes) -> dict[str, Any]:
    """Parse an urlencoded string (or bytes) into nested dicts and lists."""
    if isinstance(raw, bytes):
        try:
            raw = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise StripeError(400, "Invalid request: body is not UTF-8.") from exc
    if not raw:
        return {}
    try:
        pairs = parse_qsl(raw, keep_blank_values=True, strict_parsing=True)
    except ValueError as exc:
        raise StripeError(
            400, "Invalid request: the body could not be parsed."
        ) from exc
    root: dict[Any, Any] = {}
    append_counters: dict[tuple, int] = {}
    for key, value in pairs:
        if len(value) > STRING_LENGTH:
            raise StripeError(
                400,
                f"Invalid string: {key} can have up to {STRING_LENGTH} characters.",
                code="parameter_invalid_string",
                param=key,
            )
        parts = _split_key(key)
        node = root
        path: tuple = ()
        for index, name in enumerate(parts):
            last = index == len(parts) - 1
            part: str | int = name
            if name == "":
                # 'a[]=x&a[]=y' appends to a list.
                counter = append_counters.get(path, 0)
                append_counters[path] = counter + 1
                part = counter
            elif name.isdigit() and index > 0:
                part = int(name)
            path = (*path, part)
            if last:
                if isinstance(node.get(part), dict):
                    raise _malformed(key)
                node[part] = value
            else:
                child = node.setdefault(part, {})
                if not isinstance(child, dict):
                    raise _malformed(key)
                node = child
    return _to_lists(root)
