"""The in-process door: an HTTP client for stripe-python that calls the engine directly."""

import io
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import stripe

from .engine import Engine, FaultTimeout


class EmulatorHTTPClient(stripe.HTTPClient):
    """Answers stripe-python's requests from an Engine, with no sockets.

    Install with `stripe.default_http_client = EmulatorHTTPClient(engine)`; any
    api_base works, since only the path and query of each URL are used.
    """

    name = "stripe-emulator"

    def __init__(
        self,
        engine: Engine,
        on_response: Callable[[str, str, int], None] | None = None,
    ) -> None:
        super().__init__()
        self.engine = engine
        # Called after every answered request (the pytest fixture delivers webhooks here).
        self.on_response = on_response
        # stripe-python sleeps between retries of 5xx answers; tests may turn that off.
        self.retry_sleep = True

    def _sleep_time_seconds(self, num_retries: int) -> float:
        return super()._sleep_time_seconds(num_retries) if self.retry_sleep else 0

    def request(
        self,
        method: str,
        url: str,
        headers: dict[str, str] | None,
        post_data: Any = None,
        *,
        _usage: Any = None,
    ) -> tuple[str, int, dict[str, str]]:
        parts = urlsplit(url)
        body = post_data.encode() if isinstance(post_data, str) else (post_data or b"")
        try:
            status, out_headers, content = self.engine.handle(
                method, parts.path, parts.query, body, dict(headers or {})
            )
        except FaultTimeout as timeout:
            error = stripe.APIConnectionError(
                f"Request timed out (injected by the emulator): {timeout}",
                should_retry=True,
            )
            raise error from None
        if self.on_response is not None:
            self.on_response(method.upper(), parts.path, status)
        return content.decode(), status, {k.lower(): v for k, v in out_headers.items()}

    def request_stream(
        self,
        method: str,
        url: str,
        headers: dict[str, str] | None,
        post_data: Any = None,
        *,
        _usage: Any = None,
    ) -> tuple[io.BytesIO, int, dict[str, str]]:
        content, status, out_headers = self.request(method, url, headers, post_data)
        return io.BytesIO(content.encode()), status, out_headers

    def close(self) -> None:
        pass
