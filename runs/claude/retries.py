"""erkweb's own retries (the SDK's are off: ``max_retries=0``), so that they stay inside a batch's time.

Which failures are retried is the SDK's own rule (``_base_client._should_retry``): 408, 409, 429 and
every 5xx (529 overloaded included), connection errors and timeouts, with ``x-should-retry`` obeyed
when the server sends it; a stream that breaks after it started is retried too, and so is an ``error``
event inside a stream whose type is one of those (overloaded_error, api_error, rate_limit_error:
https://platform.claude.com/docs/en/build-with-claude/streaming, error events). The wait is the one the
API asked for (``retry-after-ms``, then ``retry-after`` in seconds or as a date, read the way the SDK
reads them), else exponential backoff with full jitter (a uniform draw up to 0.5 s x 2^attempt, at most
8 s: the SDK's figures), which spreads the retries of agents that failed together.

Two refusals keep a batch from waiting for nothing: a wait longer than the batch's time left fails the
batch at once, naming the rate limit and the wait asked; and a 429 saying a spend limit was reached is
not retried at all (no wait makes it pass): its ``error.details.error_code`` is
``enforced_spend_limit_reached`` or ``contract_spend_limit_reached`` (the SDK's
``_error_classes.ERROR_CLASSES`` maps both to spend-limit errors; https://platform.claude.com/docs/en/api/rate-limits
says the spend limits are monthly), or, from a server that sends no code, its message says so.
"""

import email.utils
import random
import time
from dataclasses import dataclass
from typing import Any

import anthropic
import httpx2

from .conversation import AgentFailed

BACKOFF_BASE_S = 0.5
BACKOFF_CAP_S = 8.0
RETRIED_STATUSES = frozenset({408, 409, 429})
RETRIED_STREAM_ERRORS = frozenset({"overloaded_error", "api_error", "rate_limit_error", "timeout_error"})
SPEND_LIMIT_CODES = frozenset({"enforced_spend_limit_reached", "contract_spend_limit_reached"})
# Words of a 429 without an error code that no wait will lift (a spend limit, an empty balance).
SPEND_LIMIT_WORDS = ("spend limit", "spending limit", "usage threshold", "credit balance", "billing")
MAX_MESSAGE_CHARS = 300


class StreamBroken(Exception):
    """A stream that stopped before its message_stop (a dropped connection, an unparseable event)."""


@dataclass(frozen=True)
class ApiFailure:
    """One failed attempt, as the transcript and the failure reason name it."""

    status: int | None  # the HTTP status; None for a connection error or a broken stream
    error_type: str  # the API's error type, or connection_error / timeout / broken_stream
    message: str
    asked_wait_s: float | None  # what the API asked for (retry-after), if anything
    retryable: bool
    spend_limit: bool = False

    @property
    def label(self) -> str:
        return f"{self.status} {self.error_type}" if self.status else self.error_type

    def describe(self) -> str:
        if self.status:
            return f"API error {self.status} {self.error_type}: {self.message}"
        if self.error_type == "connection_error":
            return f"could not reach the API (connection failed: {self.message})"
        if self.error_type == "timeout":
            return "API request timed out"
        return f"{self.error_type.replace('_', ' ')}: {self.message}"


def asked_wait(headers: Any) -> float | None:
    """Seconds the API asked to wait, from ``retry-after-ms`` or ``retry-after`` (seconds or a date)."""
    if headers is None:
        return None
    try:
        return max(0.0, float(headers.get("retry-after-ms")) / 1000)
    except (TypeError, ValueError):
        pass
    value = headers.get("retry-after")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except (TypeError, ValueError):
        pass
    parsed = email.utils.parsedate_tz(value)
    if parsed is None:
        return None
    return max(0.0, email.utils.mktime_tz(parsed) - time.time())


def _error_of(body: object) -> tuple[str, str, str]:
    """(type, message, details.error_code) of an API error body."""
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict):
        details = error.get("details")
        code = details.get("error_code") if isinstance(details, dict) else None
        return (
            str(error.get("type") or "error"),
            str(error.get("message") or ""),
            code if isinstance(code, str) else "",
        )
    return "error", "", ""


def _short(text: str) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= MAX_MESSAGE_CHARS else text[:MAX_MESSAGE_CHARS] + "…"


def classify(exc: BaseException) -> ApiFailure | None:
    """The failure an exception of a Messages API call stands for; None for anything else (a bug)."""
    if isinstance(exc, anthropic.APIStatusError):
        kind, message, code = _error_of(exc.body)
        message = _short(message or str(exc))
        status = exc.status_code
        headers = exc.response.headers if exc.response is not None else None
        if status == 200:  # an error event inside a stream that had begun
            return ApiFailure(None, kind, message, None, retryable=kind in RETRIED_STREAM_ERRORS)
        should = headers.get("x-should-retry") if headers is not None else None
        retryable = status in RETRIED_STATUSES or status >= 500
        if should in ("true", "false"):
            retryable = should == "true"
        spend = status == 429 and (
            code in SPEND_LIMIT_CODES
            or (not code and any(word in message.lower() for word in SPEND_LIMIT_WORDS))
        )
        return ApiFailure(status, kind, message, asked_wait(headers), retryable and not spend, spend)
    if isinstance(exc, (anthropic.APITimeoutError, httpx2.TimeoutException)):
        return ApiFailure(None, "timeout", "the request timed out", None, retryable=True)
    if isinstance(exc, anthropic.APIConnectionError):
        cause = exc.__cause__ or exc
        return ApiFailure(None, "connection_error", _short(str(cause) or type(cause).__name__), None, True)
    if isinstance(exc, httpx2.TransportError):  # raised as is while a stream is read
        return ApiFailure(None, "broken_stream", _short(f"{type(exc).__name__}: {exc}"), None, True)
    if isinstance(exc, StreamBroken):
        return ApiFailure(None, "broken_stream", _short(str(exc)), None, True)
    return None


@dataclass
class RetryPolicy:
    max_retries: int
    time_limit_s: float
    rng: random.Random | None = None

    def backoff(self, retry: int) -> float:
        """Full jitter: anywhere from 0 to the exponential ceiling, so agents that failed together do
        not all come back together."""
        ceiling = min(BACKOFF_CAP_S, BACKOFF_BASE_S * 2**retry)
        return (self.rng or random).uniform(0, ceiling)

    def wait_before_retry(self, failure: ApiFailure, retry: int, time_left: float) -> float:
        """Seconds to wait before retry number ``retry + 1``, or AgentFailed with the batch's reason."""
        if failure.spend_limit:
            raise AgentFailed(f"spend limit reached ({failure.label}): {failure.message}")
        if not failure.retryable:
            raise AgentFailed(failure.describe())
        if retry >= self.max_retries:
            if not self.max_retries:
                raise AgentFailed(failure.describe())
            noun = "retry" if self.max_retries == 1 else "retries"
            raise AgentFailed(f"{failure.describe()} (after {self.max_retries} {noun})")
        limit = f"{self.time_limit_s:.0f} s"
        if failure.asked_wait_s is not None:
            if failure.asked_wait_s >= time_left:
                what = "rate limited" if failure.status == 429 else "refused"
                raise AgentFailed(
                    f"{what} ({failure.label}): the API asked to wait {failure.asked_wait_s:.0f} s, more "
                    f"than the {max(0.0, time_left):.0f} s left of the batch's {limit} limit"
                )
            return failure.asked_wait_s
        wait = self.backoff(retry)
        if wait >= time_left:
            raise AgentFailed(f"time limit reached ({limit}) while retrying after {failure.describe()}")
        return wait


def spend_limit_error(error: Any) -> bool:
    """A batch result's error that is a 429 no wait lifts (a spend limit, an empty balance), told as
    the live loop tells it."""
    code = str(
        getattr(error, "error_code", "")
        or (getattr(error, "model_extra", None) or {}).get("error_code")
        or ""
    )
    message = str(error.message or "").lower()
    return code in SPEND_LIMIT_CODES or any(words in message for words in SPEND_LIMIT_WORDS)
