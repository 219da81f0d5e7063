"""Stripe's request encoding: form bodies and query strings in bracket notation."""

from urllib.parse import parse_qsl

from .errors import StripeError


def _malformed(key):
    return StripeError(
        400,
        f"Invalid request: could not parse the parameter name '{key}'.",
        code="parameter_invalid_empty",
        param=key,
    )


def _split_key(key):
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


def _to_lists(node):
    """Turn dicts whose keys are all digits (or the '[]' marker) into lists."""
    if isinstance(node, dict):
        if node and all(isinstance(k, int) for k in node):
            return [_to_lists(node[k]) for k in sorted(node)]
        return {k: _to_lists(v) for k, v in node.items()}
    return node


def parse_params(raw):
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
    root = {}
    append_counters = {}
    for key, value in pairs:
        parts = _split_key(key)
        node = root
        path = ()
        for index, part in enumerate(parts):
            last = index == len(parts) - 1
            if part == "":
                # 'a[]=x&a[]=y' appends to a list.
                counter = append_counters.get(path, 0)
                append_counters[path] = counter + 1
                part = counter
            elif part.isdigit() and index > 0:
                part = int(part)
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
