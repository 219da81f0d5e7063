"""The HTTP door: the API, the hosted pages, the control routes, webhook sending,
real-time renewals and the state file."""

from __future__ import annotations

import json
import os
import re
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from . import control, documents, origins, pages
from .encoding import parse_params
from .engine import Engine, FaultTimeout
from .errors import StripeError
from .webhooks import WebhookSender

MAX_BODY = 1024 * 1024
CONTENT_LENGTH = re.compile(r"[0-9]{1,12}")
# Connections waiting to be accepted: a burst of tests or page loads must not be
# refused (the kernel may cap it lower, at net.core.somaxconn).
LISTEN_BACKLOG = 1024
# Seconds a connection may sit idle or dribble its request before it is closed.
REQUEST_TIMEOUT = 60.0


class StateFile:
    """Writes the engine's state to a file after changes, atomically (temp file + rename).

    A writer thread coalesces bursts of changes; the file on disk is always a complete
    snapshot, because readers only ever see the old file or the fully written new one.
    """

    def __init__(self, engine: Engine, path: str) -> None:
        self.engine = engine
        self.path = os.path.abspath(path)
        self.written_version = -1
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._write_lock = threading.Lock()
        self._thread = threading.Thread(
            target=self._run, name="state-file", daemon=True
        )

    def load(self) -> bool:
        """Load the file into the engine if it exists; returns whether it did."""
        if not os.path.exists(self.path):
            return False
        with open(self.path, encoding="utf-8") as handle:
            self.engine.load_json(handle.read())
        return True

    def start(self) -> StateFile:
        self.engine.change_listeners.append(lambda store: self._wake.set())
        self._thread.start()
        return self

    def flush(self) -> None:
        """Write the current state now if it changed since the last write."""
        with self._write_lock:
            version, text = self.engine.to_json()
            if version == self.written_version:
                return
            directory = os.path.dirname(self.path) or "."
            fd, temp_path = tempfile.mkstemp(prefix=".stripe-state-", dir=directory)
            try:
                with os.fdopen(fd, "w", encoding="utf-8") as handle:
                    handle.write(text)
                    handle.flush()
                    os.fsync(handle.fileno())
                os.replace(temp_path, self.path)
            except BaseException:
                if os.path.exists(temp_path):
                    os.unlink(temp_path)
                raise
            self.written_version = version

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        self._thread.join(timeout=5)
        self.flush()

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.wait()
            self._wake.clear()
            if not self._stop.is_set():
                self.flush()


class Handler(BaseHTTPRequestHandler):
    """Routes /v1/ to the engine, /checkout/, /portal/, /invoice/ and /receipt/ to
    pages, /_emulator/ to control."""

    server_version = "StripeEmulator/1.0"
    protocol_version = "HTTP/1.1"
    # Headers and body go out in separate writes; without this, Nagle's algorithm and
    # delayed ACKs add ~40 ms to every keep-alive request.
    disable_nagle_algorithm = True

    @property
    def engine(self) -> Engine:
        return self.server.engine

    def setup(self) -> None:
        # A client that stops sending (or never sends its body) is dropped, not
        # waited for forever.
        self.timeout = self.server.request_timeout
        super().setup()

    def log_message(self, format: str, *args: Any) -> None:
        if self.server.verbose:
            super().log_message(format, *args)

    def send_error(
        self, code: int, message: str | None = None, explain: str | None = None
    ) -> None:
        """Unreadable requests (bad request line, headers, method) get Stripe's
        error body too, and the connection closes."""
        self.close_connection = True
        text = message or self.responses.get(code, ("Bad request",))[0]
        error = StripeError(code, text, error_type="invalid_request_error")
        self._json(code, error.body())

    def _refuse_body(self, status: int, message: str) -> StripeError:
        # The body was not read, so what follows on the connection is not a request.
        self.close_connection = True
        return StripeError(status, message, error_type="invalid_request_error")

    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding"):
            raise self._refuse_body(
                400,
                "Invalid request: send the body with a Content-Length, not chunked.",
            )
        lengths = [v.strip() for v in self.headers.get_all("Content-Length") or []]
        if not lengths:
            return b""
        if len(set(lengths)) > 1 or not CONTENT_LENGTH.fullmatch(lengths[0]):
            raise self._refuse_body(
                400, "Invalid request: Content-Length must be one number of bytes."
            )
        length = int(lengths[0])
        if length > MAX_BODY:
            raise self._refuse_body(400, "Request body too large.")
        try:
            body = self.rfile.read(length)
        except TimeoutError:
            raise self._refuse_body(408, "The request body did not arrive.") from None
        if len(body) < length:
            raise self._refuse_body(400, "Invalid request: the body ended early.")
        return body

    def _send(
        self,
        status: int,
        body: str | bytes,
        headers: dict[str, str] | None = None,
        content_type: str = "application/json",
    ) -> None:
        if isinstance(body, str):
            body = body.encode()
        self.send_response(status)
        headers = dict(headers or {})
        headers.setdefault("Content-Type", content_type)
        if self.close_connection:
            headers["Connection"] = "close"
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _json(self, status: int, data: Any) -> None:
        self._send(status, json.dumps(data, indent=2))

    def _redirect(self, url: str) -> None:
        self._send(303, b"", {"Location": url}, content_type="text/plain")

    def _html(self, status: int, html: str) -> None:
        self._send(status, html, content_type="text/html; charset=utf-8")

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_DELETE(self) -> None:
        self._dispatch("DELETE")

    def do_PUT(self) -> None:
        self._dispatch("PUT")

    def do_PATCH(self) -> None:
        self._dispatch("PATCH")

    def _dispatch(self, method: str) -> None:
        parts = urlsplit(self.path)
        path = parts.path
        try:
            refused = origins.refusal(
                method,
                path,
                self.headers.get("Host"),
                self.headers.get("Origin"),
                self.headers.get("Referer"),
                self.server.allowed_hosts,
            )
            if refused:
                self.close_connection = True
                raise refused
            body = self._read_body()
            if path.startswith("/v1/"):
                self._api(method, path, parts.query, body)
            elif path.startswith("/checkout/"):
                self._checkout(method, path, body)
            elif path.startswith("/portal/"):
                self._portal(method, path, parts.query, body)
            elif path.startswith("/invoice/"):
                self._invoice(method, path, parts.query, body)
            elif path.startswith("/receipt/"):
                self._receipt(method, path)
            elif path.startswith("/_emulator"):
                self._control(method, path, parts.query, body)
            elif path == "/" and method == "GET":
                self._json(
                    200, {"emulator": "stripe", "api": self.engine.public_url + "/v1/"}
                )
            else:
                raise StripeError(404, f"Unrecognized request URL ({method}: {path}).")
        except StripeError as error:
            self._json(error.status, error.body())
        except Exception as error:  # answer in Stripe's shape, never a traceback
            self._json(500, StripeError(500, f"Emulator error: {error!r}").body())

    def _api(self, method: str, path: str, query: str, body: bytes) -> None:
        try:
            status, headers, content = self.engine.handle(
                method, path, query, body, dict(self.headers.items())
            )
        except FaultTimeout as fault:
            # Hang past the client's timeout, then drop the connection unanswered.
            time.sleep(fault.seconds)
            self.close_connection = True
            return
        self._send(status, content, headers)

    def _checkout(self, method: str, path: str, body: bytes) -> None:
        segments = path.strip("/").split("/")
        session = self.engine.get(
            "checkout.session", segments[1] if len(segments) > 1 else ""
        )
        if session is None:
            self._html(404, pages.not_found_page("No such checkout session."))
            return
        items = self.engine.expand(session, ["line_items"])["line_items"]["data"]
        if method == "GET" and len(segments) == 2:
            self._html(200, pages.checkout_page(session, items))
            return
        if method == "POST" and segments[2:] == ["promotion_code"]:
            code = parse_params(body).get("code") or ""
            try:
                self.engine.apply_promotion_code(session["id"], code)
            except StripeError as error:
                session = self.engine.get("checkout.session", session["id"])
                items = self.engine.expand(session, ["line_items"])["line_items"]
                self._html(
                    error.status,
                    pages.checkout_page(session, items["data"], error.message),
                )
                return
            self._redirect(f"/checkout/{session['id']}")
            return
        if method == "POST" and segments[2:] == ["pay"]:
            form = parse_params(body)
            card = form.get("card") or form.get("card_number") or ""
            try:
                url = self.engine.complete_checkout(
                    session["id"], card=card, email=form.get("email") or None
                )
            except StripeError as error:
                session = self.engine.get("checkout.session", session["id"])
                self._html(
                    error.status, pages.checkout_page(session, items, error.message)
                )
                return
            self._redirect(url)
            return
        self._html(404, pages.not_found_page("No such page."))

    def _portal(self, method: str, path: str, query: str, body: bytes) -> None:
        segments = path.strip("/").split("/")
        session_id = segments[1] if len(segments) > 1 else ""
        try:
            view = self.engine.portal_view(session_id)
        except StripeError:
            self._html(404, pages.not_found_page("No such billing portal session."))
            return
        if method == "GET" and len(segments) == 2:
            notice = parse_qs(query).get("done", [None])[0]
            self._html(200, pages.portal_page(view, notice=notice))
            return
        on_subscription = len(segments) == 5 and segments[2] == "subscriptions"
        if method == "POST" and (on_subscription or segments[2:] == ["update_card"]):
            form = parse_params(body)
            action = segments[4] if on_subscription else "update_card"
            try:
                self.engine.portal_action(
                    session_id,
                    segments[3] if on_subscription else None,
                    action,
                    price=form.get("price"),
                    quantity=form.get("quantity"),
                    card=form.get("card") or form.get("card_number") or "",
                )
            except StripeError as error:
                view = self.engine.portal_view(session_id)
                self._html(error.status, pages.portal_page(view, error=error.message))
                return
            done = action.replace("_", " ").capitalize() + ": done."
            self._redirect(f"/portal/{session_id}?done={done.replace(' ', '+')}")
            return
        self._html(404, pages.not_found_page("No such page."))

    def _invoice(self, method: str, path: str, query: str, body: bytes) -> None:
        segments = path.strip("/").split("/")
        invoice_id = segments[1] if len(segments) > 1 else ""
        invoice = self.engine.get("invoice", invoice_id)
        if invoice is None:
            self._html(404, pages.not_found_page("No such invoice."))
            return
        view = self.engine.invoice_view(invoice_id)
        if method == "GET" and len(segments) == 2:
            notice = parse_qs(query).get("done", [None])[0]
            self._html(200, pages.invoice_page(invoice, notice=notice, view=view))
            return
        if method == "GET" and segments[2:] == ["pdf"] and view is not None:
            if invoice["status"] == "draft":
                self._html(404, pages.not_found_page("A draft invoice has no PDF."))
                return
            pdf = documents.invoice_pdf(view)
            self._send(200, pdf, content_type="application/pdf")
            return
        if method == "POST" and segments[2:] == ["pay"]:
            form = parse_params(body)
            card = form.get("card") or form.get("card_number") or ""
            try:
                self.engine.pay_invoice(invoice_id, card=card)
            except StripeError as error:
                invoice = self.engine.get("invoice", invoice_id)
                view = self.engine.invoice_view(invoice_id)
                self._html(
                    error.status,
                    pages.invoice_page(invoice, error=error.message, view=view),
                )
                return
            self._redirect(f"/invoice/{invoice_id}?done=Paid.")
            return
        self._html(404, pages.not_found_page("No such page."))

    def _receipt(self, method: str, path: str) -> None:
        segments = path.strip("/").split("/")
        view = self.engine.receipt_view(segments[1] if len(segments) == 2 else "")
        if method != "GET" or view is None:
            self._html(404, pages.not_found_page("No such receipt."))
            return
        self._html(200, pages.receipt_page(view))

    def _control(self, method: str, path: str, query: str, body: bytes) -> None:
        """Control routes for tests and scripts (no API key: the emulator is local)."""
        content_type = self.headers.get("Content-Type", "")
        params = control.control_params(content_type, body, query)
        self._json(*control.answer(self.engine, method, path, params))


class Server(ThreadingHTTPServer):
    """A thread per connection, a deep listen queue, and quiet about clients that
    hang up."""

    daemon_threads = True
    request_queue_size = LISTEN_BACKLOG

    def handle_error(self, request: Any, client_address: Any) -> None:
        if not isinstance(sys.exception(), (ConnectionError, TimeoutError)):
            super().handle_error(request, client_address)


class EmulatorServer:
    """The threaded HTTP server, webhook sender, renewals ticker and state file together."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 12111,
        state_path: str | None = None,
        engine: Engine | None = None,
        verbose: bool = False,
        tick_seconds: float = 60.0,
        request_timeout: float = REQUEST_TIMEOUT,
    ) -> None:
        self.httpd = Server((host, port), Handler)
        self.host, self.port = self.httpd.server_address[:2]
        self.httpd.allowed_hosts = origins.allowed_hosts(host, self.port)
        self.httpd.request_timeout = request_timeout
        self.url = f"http://{host}:{self.port}"
        self.engine = engine or Engine(public_url=self.url)
        self.engine.public_url = self.url
        self.httpd.engine = self.engine
        self.httpd.verbose = verbose
        self.state = StateFile(self.engine, state_path) if state_path else None
        if self.state:
            self.state.load()
        self.sender = WebhookSender(self.engine)
        self.tick_seconds = tick_seconds
        self._stop = threading.Event()
        self._threads = []

    def _serve(self) -> None:
        # A short poll interval makes stop() quick (tests start and stop many servers).
        self.httpd.serve_forever(poll_interval=0.05)

    def _tick(self) -> None:
        # Subscriptions on real time renew, retry and expire without a test clock.
        while not self._stop.wait(self.tick_seconds):
            self.engine.run_due_transitions()

    def start(self) -> EmulatorServer:
        """Serve in background threads (for tests); returns self."""
        if self.state:
            self.state.start()
        self.sender.start()
        for target in (self._serve, self._tick):
            thread = threading.Thread(target=target, daemon=True)
            thread.start()
            self._threads.append(thread)
        return self

    def stop(self) -> None:
        self._stop.set()
        self.httpd.shutdown()
        self.httpd.server_close()
        self.sender.stop()
        if self.state:
            self.state.stop()
