"""Security headers and cookie flags on HTTPS requests (behind the proxy)."""

import re

from .harness import Client

KIND = "headers"
ONE_YEAR = 31536000


def hsts(response):
    value = response.headers.get("Strict-Transport-Security", "")
    match = re.search(r"max-age=(\d+)", value)
    if not match:
        return f"no HSTS header ({value!r})"
    if "preload" in value and int(match.group(1)) < ONE_YEAR:
        return f"HSTS asks for preload with a max-age under a year: {value!r}"
    return None


def header_is(name, expected):
    def check(response):
        value = response.headers.get(name)
        if value is None or value.lower() != expected.lower():
            return f"{name}: {value!r}, expected {expected!r}"
        return None

    return check


def csp(response):
    value = response.headers.get("Content-Security-Policy", "")
    if "default-src" not in value or "frame-ancestors" not in value:
        return f"no Content-Security-Policy with default-src and frame-ancestors: {value!r}"
    return None


def cookie_flags(response, name, http_only):
    headers = [
        value
        for key, value in response.raw.headers.items()
        if key.lower() == "set-cookie" and value.startswith(f"{name}=")
    ]
    if not headers:
        return f"no {name} cookie set ({response.status_code})"
    value = headers[-1].lower()
    missing = [flag for flag in ("secure", "samesite=") if flag not in value]
    if http_only and "httponly" not in value:
        missing.append("httponly")
    return f"{name} cookie lacks {missing}: {headers[-1]}" if missing else None


def run(stack, probes):
    seed = stack.seed
    role = next(iter(seed["roles"]))
    signed_in = seed["roles"][role]["sessions"][1]
    pages = [("/", None), ("/pricing/", None), ("/accounts/login/", None)]
    pages.append(("/dashboard/", signed_in))
    checks = {
        "HSTS": hsts,
        "CSP": csp,
        "X-Frame-Options": header_is("X-Frame-Options", "DENY"),
        "nosniff": header_is("X-Content-Type-Options", "nosniff"),
        "Referrer-Policy": header_is("Referrer-Policy", "same-origin"),
    }
    named = []
    for path, session in pages:
        for label, check in checks.items():

            def probe(path=path, session=session, check=check):
                return check(Client(stack, session).get(path))

            named.append((f"{label} on {path}", probe))

    def csrf_cookie():
        client = Client(stack)
        client.cookies.pop(seed["csrf_cookie"])
        return cookie_flags(
            client.get("/accounts/login/"), seed["csrf_cookie"], http_only=True
        )

    def session_cookie():
        email = seed["roles"][role]["email"]
        response = Client(stack, forwarded_for="198.51.100.200").post(
            "/accounts/login/", {"login": email, "password": seed["password"]}
        )
        return cookie_flags(response, seed["session_cookie"], http_only=True)

    named += [
        ("CSRF cookie Secure, HttpOnly, SameSite", csrf_cookie),
        ("session cookie Secure, HttpOnly, SameSite", session_cookie),
    ]
    probes.run_all(KIND, named)
