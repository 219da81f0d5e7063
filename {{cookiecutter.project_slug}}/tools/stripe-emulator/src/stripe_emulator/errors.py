"""Stripe-shaped API errors: raised anywhere in the engine, rendered by both doors."""

from typing import Any

ERROR_TYPES = {
    400: "invalid_request_error",
    401: "invalid_request_error",
    402: "card_error",
    404: "invalid_request_error",
    409: "idempotency_error",
    429: "rate_limit_error",
    500: "api_error",
}


class StripeError(Exception):
    """An error answered with Stripe's error body and status code."""

    def __init__(
        self,
        status: int,
        message: str,
        code: str | None = None,
        param: str | None = None,
        error_type: str | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code
        self.param = param
        self.error_type = error_type or ERROR_TYPES.get(status, "api_error")
        self.extra = extra

    def body(self) -> dict[str, Any]:
        """The JSON body Stripe sends: {"error": {type, code, param, message, ...}}."""
        error = {"type": self.error_type, "message": self.message}
        if self.code:
            error["code"] = self.code
        if self.param:
            error["param"] = self.param
        error.update(self.extra)
        return {"error": error}


def missing(object_type: str, object_id: str, param: str = "id") -> StripeError:
    """Stripe's 404 for an unknown id."""
    return StripeError(
        404,
        f"No such {object_type}: '{object_id}'",
        code="resource_missing",
        param=param,
    )


def invalid(
    message: str, param: str | None = None, code: str = "parameter_invalid_empty"
) -> StripeError:
    """A 400 invalid_request_error for a bad value."""
    return StripeError(400, message, code=code, param=param)


def parameter_missing(param: str) -> StripeError:
    """Stripe's 400 for a required parameter that was not sent."""
    return StripeError(
        400, f"Missing required param: {param}.", code="parameter_missing", param=param
    )


def parameter_unknown(param: str) -> StripeError:
    """Stripe's 400 for a parameter the endpoint does not take."""
    return StripeError(
        400,
        f"Received unknown parameter: {param}",
        code="parameter_unknown",
        param=param,
    )


def card_declined(**extra: Any) -> StripeError:
    """Stripe's 402 for a declined card."""
    return StripeError(
        402,
        "Your card was declined.",
        code="card_declined",
        decline_code="generic_decline",
        **extra,
    )
