"""Who may talk to the emulator over HTTP: requests naming its own loopback host,
and, for its control routes and anything that changes state, sent from its own
pages or from no page.

The emulator runs on a developer's machine, where any web page they open can send
requests to 127.0.0.1. A foreign `Host` header is a page that rebound its own name
to 127.0.0.1 (DNS rebinding); a foreign `Origin` or `Referer` is a page posting
across sites. Servers and scripts (stripe-python, curl) send neither.
"""

from urllib.parse import urlsplit

from .errors import StripeError

LOOPBACK_NAMES = ("127.0.0.1", "localhost", "[::1]")
# Bound to every interface: the names clients use are not known, so only loopback.
WILDCARD_HOSTS = ("", "0.0.0.0", "::")
# Methods that change nothing: other sites may link to the hosted pages.
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")
# No page but the emulator's own may use these at all.
CONTROL_PREFIX = "/_emulator"


def allowed_hosts(bind_host: str, port: int) -> frozenset[str]:
    """The `Host` values that name this emulator: loopback (and the address it was
    told to listen on) with its port."""
    names = set(LOOPBACK_NAMES)
    if bind_host not in WILDCARD_HOSTS:
        names.add(f"[{bind_host}]" if ":" in bind_host else bind_host.lower())
    hosts = {f"{name}:{port}" for name in names}
    if port == 80:
        hosts |= names
    return frozenset(hosts)


def _netloc(url: str) -> str | None:
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    return parts.netloc.lower() if parts.scheme == "http" else None


def refusal(
    method: str,
    path: str,
    host: str | None,
    origin: str | None,
    referer: str | None,
    allowed: frozenset[str],
) -> StripeError | None:
    """Stripe's 403 when the request may not come in, else None."""
    if (host or "").lower() not in allowed:
        return StripeError(
            403,
            f"The emulator answers only requests for itself ({sorted(allowed)[0]}),"
            f" not for Host {host!r}.",
            error_type="invalid_request_error",
        )
    if method in SAFE_METHODS and not path.startswith(CONTROL_PREFIX):
        return None
    sender = origin or referer
    if sender and _netloc(sender) not in allowed:
        return StripeError(
            403,
            "The emulator does not take control or state-changing requests from"
            f" other sites (sent from {sender!r}).",
            error_type="invalid_request_error",
        )
    return None
