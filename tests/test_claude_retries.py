"""Which failures are retried, after how long, and when waiting is pointless (no network here: the
SDK's own exception types, built from responses as the API sends them)."""

import email.utils
import random
import time

import anthropic
import httpx2
import pytest

from runs.claude.conversation import AgentFailed
from runs.claude.retries import RetryPolicy, StreamBroken, asked_wait, classify

REQUEST = httpx2.Request("POST", "https://api.anthropic.com/v1/messages")


def status_error(status: int, kind: str, message: str, headers=None, code=None):
    error = {"type": kind, "message": message}
    if code:
        error["details"] = {"error_code": code}
    body = {"type": "error", "error": error}
    response = httpx2.Response(status, headers=headers or {}, json=body, request=REQUEST)
    return anthropic.Anthropic(api_key="k")._make_status_error(str(body), body=body, response=response)


def test_what_is_retried_is_the_sdks_rule():
    """anthropic/_base_client.py _should_retry: 408, 409, 429 and 5xx; x-should-retry obeyed."""
    retried = {
        s: classify(status_error(s, "e", "m")).retryable
        for s in (400, 401, 403, 404, 408, 409, 413, 429, 500, 529)
    }
    assert retried == {
        400: False,
        401: False,
        403: False,
        404: False,
        408: True,
        409: True,
        413: False,
        429: True,
        500: True,
        529: True,
    }
    assert classify(status_error(400, "e", "m", {"x-should-retry": "true"})).retryable
    assert not classify(status_error(529, "overloaded_error", "m", {"x-should-retry": "false"})).retryable
    assert classify(anthropic.APIConnectionError(request=REQUEST)).error_type == "connection_error"
    assert classify(anthropic.APITimeoutError(request=REQUEST)).error_type == "timeout"
    assert classify(httpx2.RemoteProtocolError("peer closed")).error_type == "broken_stream"
    assert classify(StreamBroken("ended early")).retryable
    assert classify(KeyError("a bug")) is None


def test_an_error_event_inside_a_stream():
    """https://platform.claude.com/docs/en/build-with-claude/streaming (error events): an error after the
    200, e.g. overloaded_error, as the SDK raises it (status 200, the event's body)."""
    overloaded = status_error(200, "overloaded_error", "Overloaded")
    failure = classify(overloaded)
    assert failure.retryable and failure.status is None and failure.error_type == "overloaded_error"
    assert not classify(status_error(200, "invalid_request_error", "bad")).retryable


def test_the_wait_asked_for():
    """retry-after-ms first, then retry-after in seconds or as an HTTP date (the SDK's order)."""
    assert asked_wait(httpx2.Headers({"retry-after-ms": "1500", "retry-after": "9"})) == 1.5
    assert asked_wait(httpx2.Headers({"retry-after": "3600"})) == 3600
    assert asked_wait(httpx2.Headers({})) is None
    in_a_minute = asked_wait(
        httpx2.Headers({"retry-after": email.utils.formatdate(time.time() + 60, usegmt=True)})
    )
    assert 58 <= in_a_minute <= 61
    assert (
        classify(status_error(429, "rate_limit_error", "slow down", {"retry-after": "7"})).asked_wait_s == 7
    )


def test_a_wait_longer_than_the_time_left_fails_now_naming_the_rate_limit():
    policy = RetryPolicy(max_retries=4, time_limit_s=600)
    failure = classify(
        status_error(429, "rate_limit_error", "Number of requests exceeded", {"retry-after": "3600"})
    )
    with pytest.raises(AgentFailed) as failed:
        policy.wait_before_retry(failure, 0, time_left=41.2)
    assert str(failed.value) == (
        "rate limited (429 rate_limit_error): the API asked to wait 3600 s, more than the 41 s left of the "
        "batch's 600 s limit"
    )
    # Within the time left, the wait asked for is the wait.
    shorter = classify(status_error(429, "rate_limit_error", "m", {"retry-after": "2"}))
    assert policy.wait_before_retry(shorter, 0, time_left=41.2) == 2


def test_a_spend_limit_is_not_retried():
    """The SDK maps a 429 with error.details.error_code enforced_spend_limit_reached to
    EnforcedSpendLimitReachedError (anthropic/_error_classes.py): no wait lifts a monthly limit."""
    policy = RetryPolicy(max_retries=4, time_limit_s=600)
    for error in (
        status_error(
            429,
            "rate_limit_error",
            "Your organization has reached its spend limit.",
            code="enforced_spend_limit_reached",
        ),
        status_error(429, "rate_limit_error", "Limit reached.", code="contract_spend_limit_reached"),
        status_error(
            429,
            "rate_limit_error",
            "You have reached your specified workspace API usage limits... spend limit",
        ),
    ):
        failure = classify(error)
        assert failure.spend_limit and not failure.retryable
        with pytest.raises(AgentFailed, match=r"^spend limit reached \(429 rate_limit_error\): "):
            policy.wait_before_retry(failure, 0, time_left=500)
    assert not classify(
        status_error(429, "rate_limit_error", "Limit reached.", code="ramp_limit_exceeded")
    ).spend_limit


def test_backoff_is_full_jitter():
    """Exponential ceiling (0.5 s x 2^retry, at most 8 s: the SDK's figures), the wait drawn uniformly
    below it: agents that fail together come back spread out."""
    policy = RetryPolicy(max_retries=10, time_limit_s=600, rng=random.Random(1))
    for retry, ceiling in [(0, 0.5), (1, 1.0), (2, 2.0), (3, 4.0), (4, 8.0), (7, 8.0)]:
        waits = [policy.backoff(retry) for _ in range(2_000)]
        assert 0 <= min(waits) < 0.05 * ceiling and 0.95 * ceiling < max(waits) <= ceiling
        assert abs(sum(waits) / len(waits) - ceiling / 2) < 0.05 * ceiling
    failure = classify(status_error(529, "overloaded_error", "Overloaded"))
    twenty_agents = [
        RetryPolicy(4, 600, random.Random(seed)).wait_before_retry(failure, 2, 500) for seed in range(20)
    ]
    assert len({round(w, 3) for w in twenty_agents}) == 20


def test_a_backoff_that_would_outlive_the_batch_fails_it():
    policy = RetryPolicy(max_retries=4, time_limit_s=600, rng=random.Random(5))
    failure = classify(status_error(529, "overloaded_error", "Overloaded"))
    with pytest.raises(
        AgentFailed, match=r"^time limit reached \(600 s\) while retrying after API error 529"
    ):
        policy.wait_before_retry(failure, 3, time_left=0.01)


def test_retries_are_capped():
    policy = RetryPolicy(max_retries=2, time_limit_s=600)
    failure = classify(status_error(500, "api_error", "Internal server error"))
    policy.wait_before_retry(failure, 1, 500)
    with pytest.raises(
        AgentFailed, match=r"^API error 500 api_error: Internal server error \(after 2 retries\)$"
    ):
        policy.wait_before_retry(failure, 2, 500)
    with pytest.raises(AgentFailed, match=r"^API error 500 api_error: Internal server error$"):
        RetryPolicy(max_retries=0, time_limit_s=600).wait_before_retry(failure, 0, 500)
