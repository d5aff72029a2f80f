"""Retries of provider calls: exponential backoff with jitter, honouring Retry-After.

Retried: rate limits (429), overload (529, 503), other 5xx, timeouts, dropped connections and streams.
Never retried: bad credentials, bad requests, context overflow, unknown models: the same request would fail again.
litellm's and the OpenAI SDK's own retries are turned off (see LitellmBackend), so the counts here are the real ones.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

T = TypeVar("T")

NEVER = ("ContextWindowExceededError", "AuthenticationError", "PermissionDeniedError", "BadRequestError",
         "NotFoundError", "UnprocessableEntityError", "UnsupportedParamsError", "ContentPolicyViolationError")
REASONS = {
    "RateLimitError": "rate limited",
    "Timeout": "timed out",
    "APITimeoutError": "timed out",
    "MidStreamFallbackError": "stream dropped",
    "DroppedStream": "stream dropped",
    "APIConnectionError": "connection failed",
    "ServiceUnavailableError": "overloaded",
    "BadGatewayError": "server error",
    "InternalServerError": "server error",
}


class DroppedStream(Exception):
    """A stream ended before the provider said it was complete."""


@dataclass
class RetryPolicy:
    """How many times and how long to wait; `sleep` and `rng` are injectable for determinism."""

    retries: int = 6
    base_s: float = 1.0
    max_s: float = 60.0
    sleep: Callable[[float], None] = time.sleep
    rng: random.Random | None = None

    def delay(self, attempt: int, exc: BaseException) -> float:
        """Seconds before retry `attempt` (1-based): Retry-After if the provider sent one, else 2^n backoff."""
        rng = self.rng or random
        hinted = retry_after(exc)
        if hinted is not None:
            return min(self.max_s, hinted + rng.uniform(0, 0.1 * max(hinted, 0.1)))
        ceiling = min(self.max_s, self.base_s * 2 ** (attempt - 1))
        return ceiling * rng.uniform(0.5, 1.0)


def reason(exc: BaseException) -> str | None:
    """Why a failed call is worth retrying ("rate limited", "overloaded", ...), or None if it is not."""
    names = [cls.__name__ for cls in type(exc).__mro__]
    if any(n in NEVER for n in names):
        return None
    text = str(exc).lower()
    if "insufficient_quota" in text:  # out of credit: waiting will not help
        return None
    if "overloaded" in text or getattr(exc, "status_code", None) == 529:
        return "overloaded"
    for name in names:
        if name in REASONS:
            return REASONS[name]
    status = getattr(exc, "status_code", None)
    if isinstance(status, int) and status >= 500:
        return "server error"
    if isinstance(exc, TimeoutError | ConnectionError):
        return "connection failed"
    return None


def retry_after(exc: BaseException) -> float | None:
    """The provider's Retry-After (seconds, or retry-after-ms), from the error's response headers."""
    headers: Any = getattr(exc, "litellm_response_headers", None)
    if headers is None:
        response = getattr(exc, "response", None)
        headers = getattr(response, "headers", None)
    if not headers:
        return None
    try:
        if headers.get("retry-after-ms"):
            return max(0.0, float(headers["retry-after-ms"]) / 1000)
        if headers.get("retry-after"):
            return max(0.0, float(headers["retry-after"]))
    except (TypeError, ValueError):  # an HTTP date: fall back to backoff
        return None
    return None


def with_retries(call: Callable[[], T], policy: RetryPolicy, on_retry: Callable[[dict[str, Any]], None]) -> T:
    """Run `call`, retrying what is retryable; each retry is reported to `on_retry` as an event first."""
    attempt = 0
    while True:
        try:
            return call()
        except Exception as exc:
            why = reason(exc)
            attempt += 1
            if why is None or attempt > policy.retries:
                raise
            wait = policy.delay(attempt, exc)
            on_retry({"type": "retry", "reason": why, "attempt": attempt, "of": policy.retries,
                      "delay_s": round(wait, 2), "status": getattr(exc, "status_code", None),
                      "error": _short(exc)})
            policy.sleep(wait)


def _short(exc: BaseException, limit: int = 300) -> str:
    text = " ".join(str(exc).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."
