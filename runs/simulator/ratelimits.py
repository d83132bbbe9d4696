"""The headers of a simulated 429, as https://platform.claude.com/docs/en/api/rate-limits lists them.

The real API sends `retry-after` (seconds) and the `anthropic-ratelimit-*` family: for requests, tokens,
input tokens and output tokens, a limit, what remains, and when it resets (RFC 3339). The simulator has no
real limits; it plays a workspace whose request limit ran out, with the figures below (a small tier's, made
up, fixed so that tests can read them back).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

REQUESTS_PER_MINUTE = 50
INPUT_TOKENS_PER_MINUTE = 50_000
OUTPUT_TOKENS_PER_MINUTE = 10_000
DEFAULT_RETRY_AFTER = 1


def rfc3339(moment: datetime) -> str:
    return moment.astimezone(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def rate_limited_headers(retry_after: int | None, now: datetime | None = None) -> dict[str, str]:
    """The headers of a 429 that asks to wait `retry_after` seconds: the request limit is spent and resets
    then; the token limits have room left."""
    wait = DEFAULT_RETRY_AFTER if retry_after is None else retry_after
    now = now or datetime.now(UTC)
    reset = rfc3339(now + timedelta(seconds=wait))
    minute = rfc3339(now + timedelta(seconds=60))
    tokens = INPUT_TOKENS_PER_MINUTE + OUTPUT_TOKENS_PER_MINUTE
    return {
        "retry-after": str(wait),
        "anthropic-ratelimit-requests-limit": str(REQUESTS_PER_MINUTE),
        "anthropic-ratelimit-requests-remaining": "0",
        "anthropic-ratelimit-requests-reset": reset,
        "anthropic-ratelimit-tokens-limit": str(tokens),
        "anthropic-ratelimit-tokens-remaining": str(tokens),
        "anthropic-ratelimit-tokens-reset": minute,
        "anthropic-ratelimit-input-tokens-limit": str(INPUT_TOKENS_PER_MINUTE),
        "anthropic-ratelimit-input-tokens-remaining": str(INPUT_TOKENS_PER_MINUTE),
        "anthropic-ratelimit-input-tokens-reset": minute,
        "anthropic-ratelimit-output-tokens-limit": str(OUTPUT_TOKENS_PER_MINUTE),
        "anthropic-ratelimit-output-tokens-remaining": str(OUTPUT_TOKENS_PER_MINUTE),
        "anthropic-ratelimit-output-tokens-reset": minute,
    }
