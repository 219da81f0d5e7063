"""Probe records and the HTTP client the probes speak to the site with."""

import re
import secrets
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import requests

# A traceback or Django's debug page in a response: never shown in production.
LEAK = re.compile(
    r"Traceback \(most recent call last\)|<title>\w+Error at |Exception Value:"
)
# A probe's request waits at most this long: a page must answer within 15 s.
TIMEOUT = 20


@dataclass
class Probe:
    kind: str
    name: str
    held: bool
    detail: str = ""


class Probes:
    """Every probe tried on one bake, by class; thread-safe."""

    def __init__(self):
        self.tried = []
        self._lock = threading.Lock()

    def record(self, kind, name, held, detail=""):
        with self._lock:
            self.tried.append(Probe(kind, name, bool(held), str(detail)[:500]))
        return held

    def check(self, kind, name, probe):
        """Run `probe()` (a detail string when it did not hold, else None)."""
        try:
            failure = probe()
        except Exception as error:  # a probe that crashes did not hold
            failure = f"probe raised {error!r}"
        return self.record(kind, name, failure is None, failure or "")

    def run_all(self, kind, named_probes, workers=6):
        """Run independent probes (name, callable) in a thread pool."""
        with ThreadPoolExecutor(workers) as pool:
            list(
                pool.map(lambda item: self.check(kind, item[0], item[1]), named_probes)
            )

    def table(self):
        rows = {}
        for probe in self.tried:
            tried, held = rows.get(probe.kind, (0, 0))
            rows[probe.kind] = (tried + 1, held + probe.held)
        return rows

    def failures(self):
        return [probe for probe in self.tried if not probe.held]


class Client:
    """One browser: a session cookie, a CSRF cookie, and the headers of a proxy.

    Requests go to gunicorn over plain HTTP with `X-Forwarded-Proto: https`, as the
    HTTPS proxy in front of production sends them.
    """

    def __init__(self, stack, session=None, forwarded_for=None):
        self.stack = stack
        self.http = requests.Session()
        self.http.trust_env = False
        self.cookies = {}
        self.csrf = secrets.token_hex(16)
        self.cookies[stack.seed["csrf_cookie"]] = self.csrf
        if session:
            self.cookies[stack.seed["session_cookie"]] = session
        self.forwarded_for = forwarded_for

    def headers(self, extra=None, csrf_origin=True):
        headers = {"X-Forwarded-Proto": "https", "Host": f"127.0.0.1:{self.stack.port}"}
        if csrf_origin:
            headers["Origin"] = f"https://127.0.0.1:{self.stack.port}"
        if self.forwarded_for:
            headers["X-Forwarded-For"] = self.forwarded_for
        headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        headers.update(extra or {})
        return headers

    def request(self, method, path, data=None, headers=None, csrf=True, **kwargs):
        """Send a request; CSRF-valid unless `csrf=False`. Keeps cookies it is sent."""
        if method == "POST" and csrf and isinstance(data, dict | None):
            data = {"csrfmiddlewaretoken": self.csrf, **(data or {})}
        elif method == "POST" and csrf and isinstance(data, list):
            data = [("csrfmiddlewaretoken", self.csrf), *data]
        started = time.monotonic()
        response = self.http.request(
            method,
            self.stack.url + path,
            data=data,
            headers=self.headers(headers),
            allow_redirects=False,
            timeout=kwargs.pop("timeout", TIMEOUT),
            **kwargs,
        )
        response.seconds = time.monotonic() - started
        for cookie in response.cookies:
            if cookie.name != self.stack.seed["csrf_cookie"]:
                self.cookies[cookie.name] = cookie.value
        return response

    def get(self, path, **kwargs):
        return self.request("GET", path, **kwargs)

    def post(self, path, data=None, **kwargs):
        return self.request("POST", path, data=data, **kwargs)


def describe(response):
    location = response.headers.get("Location", "")
    return f"{response.status_code}{' -> ' + location if location else ''}"


def leaks(response):
    """Why a response shows what production must not (a traceback), or None."""
    if LEAK.search(response.text):
        return "shows a traceback or Django's debug page"
    return None


def server_error(response):
    """A 5xx other than the friendly 503, or a leaked traceback; None when neither."""
    if response.status_code >= 500 and response.status_code != 503:
        return f"answered {describe(response)}"
    return leaks(response)
