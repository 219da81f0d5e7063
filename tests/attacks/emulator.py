"""The emulator's robustness: its control routes refuse other origins and hosts, bad
input gets a 400 in Stripe's error shape, and odd connections are answered promptly."""

import socket
from concurrent.futures import ThreadPoolExecutor

import requests

from .stack import SECRET_KEY

KIND = "emulator"
FOREIGN = {"Origin": "https://evil.example"}
REBOUND = {"Host": "evil.example"}


def stripe_error(response, status=400):
    """Why the answer is not a Stripe error of `status`, or None."""
    try:
        error = response.json().get("error", {})
    except ValueError:
        return f"{response.status_code}, not JSON: {response.text[:200]!r}"
    if (
        response.status_code != status
        or not error.get("message")
        or not error.get("type")
    ):
        return f"answered {response.status_code} {response.text[:300]!r}"
    return None


def api(stack, method, path, data=None, headers=None):
    return requests.request(
        method,
        stack.emulator_url + path,
        data=data,
        auth=(SECRET_KEY, ""),
        headers=headers,
        timeout=30,
    )


def raw(stack, request: bytes, wait=5.0):
    """Send raw bytes; the first bytes of the answer, or b'' if closed, within `wait`."""
    with socket.create_connection(
        ("127.0.0.1", stack.emulator_port), timeout=wait
    ) as s:
        s.sendall(request)
        try:
            return s.recv(4096)
        except TimeoutError:
            return None


def control_probes(stack):
    routes = [
        ("GET", "/_emulator/", None),
        ("GET", "/_emulator/deliveries", None),
        ("GET", "/_emulator/settings", None),
        ("POST", "/_emulator/faults", {"path": "/v1/attack-probe-never", "times": 1}),
        ("POST", "/_emulator/settings", {"webhook_timeout": "10"}),
        ("POST", "/_emulator/events/evt_missing/redeliver", None),
        ("POST", "/_emulator/checkout/cs_missing/complete", None),
    ]
    for method, path, data in routes:
        for label, headers in (("foreign Origin", FOREIGN), ("foreign Host", REBOUND)):

            def probe(method=method, path=path, data=data, headers=headers):
                response = requests.request(
                    method,
                    stack.emulator_url + path,
                    data=data,
                    headers=headers,
                    timeout=30,
                )
                if response.status_code != 403:
                    return f"answered {response.status_code}, expected 403"
                return None

            yield f"{method} {path} with a {label}", probe


def malformed_probes(stack):
    # Real objects, so that each case fails on the malformed field and not on a
    # missing object.
    product = api(stack, "GET", "/v1/products?limit=1").json()["data"][0]["id"]
    customer = api(stack, "POST", "/v1/customers").json()["id"]
    cases = [
        ("POST", "/v1/customers", "metadata[=1"),
        ("POST", "/v1/customers", {"email": "x" * 100000}),
        ("GET", "/v1/customers?limit=-1", None),
        ("GET", "/v1/customers?limit=abc", None),
        ("GET", "/v1/customers?starting_after=cus_missing", None),
        ("GET", "/v1/customers?expand[]=data.nothing.here", None),
        (
            "POST",
            "/v1/prices",
            {"unit_amount": "abc", "currency": "usd", "product": product},
        ),
        (
            "POST",
            "/v1/prices",
            {"unit_amount": "-5", "currency": "usd", "product": product},
        ),
        (
            "POST",
            "/v1/subscriptions",
            {"customer": "cus_missing", "items[0][price]": "p"},
        ),
        (
            "POST",
            "/v1/subscriptions",
            {"customer": customer, "items[0][quantity]": "1" + "0" * 30},
        ),
        ("POST", "/v1/checkout/sessions", {"mode": "sideways"}),
        ("POST", "/v1/customers", {"metadata": "not-a-hash"}),
        ("POST", "/v1/customers", {f"metadata[k{i}]": "v" for i in range(51)}),
        ("POST", "/v1/customers", {"metadata[" + "k" * 41 + "]": "v"}),
        ("POST", "/v1/customers", {"metadata[k]": "v" * 501}),
        (
            "POST",
            "/v1/webhook_endpoints",
            {"url": "javascript:alert(1)", "enabled_events[]": "*"},
        ),
        (
            "POST",
            "/v1/checkout/sessions",
            {
                "mode": "payment",
                "success_url": "javascript:alert(1)",
                "line_items[0][price_data][currency]": "usd",
                "line_items[0][price_data][unit_amount]": "100",
                "line_items[0][price_data][product_data][name]": "x",
                "line_items[0][quantity]": "1",
            },
        ),
        (
            "POST",
            "/v1/billing_portal/sessions",
            {"customer": "cus_missing", "return_url": "javascript:alert(1)"},
        ),
        ("POST", "/_emulator/faults", {"path": "/v1/x", "times": "abc"}),
        ("POST", "/_emulator/faults", {"path": "/v1/x", "status": "418"}),
        (
            "POST",
            "/_emulator/faults",
            {"path": "/v1/x", "status": "timeout", "hang_seconds": "-1"},
        ),
        ("POST", "/_emulator/settings", {"payment_retry_days": "[-3]"}),
        ("POST", "/_emulator/checkout/cs_missing/complete", {"card": "success"}),
    ]
    for method, path, data in cases:
        # An unknown object is a 404 in Stripe, anything else malformed a 400.
        missing = "missing" in path or (
            isinstance(data, dict) and "cus_missing" in data.values()
        )
        expected = 404 if missing else 400

        def probe(method=method, path=path, data=data, expected=expected):
            return stripe_error(api(stack, method, path, data=data), expected)

        label = path if not isinstance(data, dict) else f"{path} {sorted(data)[:2]}"
        yield f"malformed {method} {label}"[:150], probe


def connection_probes(stack):
    host = f"Host: 127.0.0.1:{stack.emulator_port}\r\n".encode()

    def answered_or_closed(request):
        def probe():
            answer = raw(stack, request)
            if answer is None:
                return "no answer and not closed within 5 s"
            return None

        return probe

    yield (
        "negative Content-Length",
        answered_or_closed(
            b"POST /v1/customers HTTP/1.1\r\n" + host + b"Content-Length: -5\r\n\r\n"
        ),
    )
    yield (
        "non-numeric Content-Length",
        answered_or_closed(
            b"POST /v1/customers HTTP/1.1\r\n" + host + b"Content-Length: abc\r\n\r\n"
        ),
    )
    yield (
        "huge Content-Length",
        answered_or_closed(
            b"POST /v1/customers HTTP/1.1\r\n"
            + host
            + b"Content-Length: 99999999999\r\n\r\n"
        ),
    )
    yield "garbage request line", answered_or_closed(b"\x00\xff GARBAGE\r\n\r\n")

    def simultaneous():
        def one(_):
            try:
                answer = raw(
                    stack,
                    b"GET / HTTP/1.1\r\n" + host + b"Connection: close\r\n\r\n",
                    wait=30,
                )
            except OSError as error:
                return repr(error)
            return None if answer and answer.startswith(b"HTTP/1.") else repr(answer)

        with ThreadPoolExecutor(128) as pool:
            failures = [f for f in pool.map(one, range(128)) if f]
        return (
            f"{len(failures)} of 128 unanswered: {failures[:3]}" if failures else None
        )

    yield "128 simultaneous connections all answered", simultaneous


def run(stack, probes):
    probes.run_all(KIND, list(control_probes(stack)))
    probes.run_all(KIND, list(malformed_probes(stack)))
    probes.run_all(KIND, list(connection_probes(stack)), workers=2)
    stack.clear_faults()
