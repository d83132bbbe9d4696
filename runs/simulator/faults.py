"""Fault rules: make the simulator slow, fail or misbehave, for a chosen run or batch, a number of times.

A rule is a small dict (or the command line's `BEHAVIOUR[:key=value,...]`):

    {"behaviour": "rate-limit", "run": "audit-scan-2026", "batch": 2, "times": 1, "latency_ms": 500}

- `behaviour`: an HTTP fault (applies per request) or a misbehaviour (applies per conversation), below.
- `run`: only conversations whose run id contains this text; `batch`: only this batch number. A rule with
  either never matches a conversation the simulator cannot place (no operation, no batch assignment).
- `model`: only requests whose model id contains this text (`haiku`), so that one model of a comparison
  can be made to misbehave and the other not.
- `times`: how many times the rule fires before it is used up; absent or null = every time.
- `latency_ms`: wait this long before the rule acts ("slow" waits 1000 ms when it is not given).
- `retry_after` (rate-limit only): the `retry-after` header in seconds (1 when not given).
- `after_events` (break-stream, stream-error only): how many server-sent events go out first (half of
  the stream when not given).

HTTP faults answer one request (any turn) instead of the model; in a Message Batch, where there is no
HTTP answer per request, a fault that answers with an error (and `drop-connection`, as there is no
connection to drop) ends that request `errored` with the same error type, and a delay delays the batch
(message_batches.py). The batch fault `batch-expire` fires on Message Batch requests only: the request
ends `expired`, as if the batch had reached its 24-hour expiry before it was sent to the model.

Stream faults (`break-stream`, `stream-error`) fire only on streamed requests, once the stream has
started. Answer faults change the model's answer to one request: `pause-turn` ends it with stop_reason
`pause_turn` (it waits for a turn that has something to say before its first tool call),
`context-exceeded` cuts it with `model_context_window_exceeded`. Misbehaviours are chosen when a
conversation starts (its first request: `messages` is just the first user message) and then hold for
all of its turns, which the players know from the signed thinking blocks and tool_use ids they emitted
(no server-side state, so a misbehaving conversation survives a restart or another server thread).

To add a behaviour: `register_http_fault(name, HttpFault(...))`, or `register_misbehaviour(name, what)`
and teach the players (players/) what to do with it.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass, field
from typing import Any

BEHAVIOUR_NAME_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
DEFAULT_SLOW_MS = 1000


# What each kind of fault acts on (RuleBook.take draws the rules of some actions only).
REQUEST_ACTIONS = frozenset({"error", "drop", "delay"})
STREAM_ACTIONS = frozenset({"break-stream", "stream-error"})
ANSWER_ACTIONS = frozenset({"pause", "context"})
BATCH_ACTIONS = frozenset({"expire"})


@dataclass(frozen=True)
class HttpFault:
    """What a fault does: answer with an error, drop the connection, only wait, break or fail a stream
    midway, or change the model's answer."""

    action: str  # one of REQUEST_ACTIONS | STREAM_ACTIONS | ANSWER_ACTIONS | BATCH_ACTIONS
    status: int = 0
    error_type: str = ""
    message: str = ""
    headers: tuple[tuple[str, str], ...] = ()
    default_latency_ms: int = 0
    error_code: str = ""  # error.details.error_code, when the API gives one


HTTP_FAULTS: dict[str, HttpFault] = {
    # https://platform.claude.com/docs/en/api/rate-limits: a 429 says which limit was hit in its
    # anthropic-ratelimit-* headers and how long to wait in retry-after (ratelimits.py fills them in).
    "rate-limit": HttpFault(
        "error",
        429,
        "rate_limit_error",
        "This request would exceed the rate limit for your organization (simulated). Please retry later.",
    ),
    # The SDK (anthropic/_error_classes.py) maps a 429 whose error.details.error_code is
    # enforced_spend_limit_reached to EnforcedSpendLimitReachedError: "The organization has crossed the
    # monthly API usage threshold of its API tier." The docs give no message text; this one is ours. No
    # retry-after: waiting does not help until the limit is raised or the month ends.
    "spend-limit": HttpFault(
        "error",
        429,
        "rate_limit_error",
        "Your organization has reached its monthly API spend limit (simulated). Requests are refused until "
        "the limit is raised or the next month begins.",
        error_code="enforced_spend_limit_reached",
    ),
    "overloaded": HttpFault("error", 529, "overloaded_error", "Overloaded (simulated)"),
    "server-error": HttpFault("error", 500, "api_error", "Internal server error (simulated)"),
    "drop-connection": HttpFault("drop"),
    "slow": HttpFault("delay", default_latency_ms=DEFAULT_SLOW_MS),
    "break-stream": HttpFault("break-stream"),
    # https://platform.claude.com/docs/en/build-with-claude/streaming ("Error events"): an error can
    # arrive as an `error` event after the 200 and some events, e.g. overloaded_error.
    "stream-error": HttpFault("stream-error", 529, "overloaded_error", "Overloaded (simulated)"),
    "pause-turn": HttpFault("pause"),
    "context-exceeded": HttpFault("context"),
    # https://platform.claude.com/docs/en/build-with-claude/batch-processing ("Retrieving batch results"):
    # expired, "Batch reached its 24 hour expiration before this request could be sent to the model".
    "batch-expire": HttpFault("expire"),
}

MISBEHAVIOURS: dict[str, str] = {
    "inline": "reads the docs, then answers the results inline in text and never writes",
    "no-write": "reads the docs, then ends with the final message without writing",
    "empty-file": "writes an empty file",
    "malformed-file": "writes a file whose 2nd block has `lines: many`",
    "missing-item": "leaves the last doc out of the file",
    "write-outside": "writes outside its output file, then gives up with a plain message",
    "max-tokens": "stops with stop_reason max_tokens in the middle of the write",
    "wrong-final": "writes correctly but ends with a message other than the final message",
    "refusal": "refuses at once (stop_reason refusal)",
    "drift": "learn's tripwire-extractor writes tripwire_candidates with title/description field names",
    "miscount": "plays a weaker model: audit-scan miscounts a few signals of about one doc in three; learn "
    "rates the plan's first item lower and invents one more tripwire candidate",
}


def register_http_fault(name: str, fault: HttpFault) -> None:
    _check_name(name)
    HTTP_FAULTS[name] = fault


def register_misbehaviour(name: str, description: str) -> None:
    _check_name(name)
    MISBEHAVIOURS[name] = description


def _check_name(name: str) -> None:
    # Behaviour names travel inside tool_use ids (players/), so they keep to [a-z0-9-].
    if not BEHAVIOUR_NAME_RE.match(name):
        raise ValueError(f"behaviour names are lowercase words joined by '-', not {name!r}")


def known_behaviours() -> list[str]:
    return [*HTTP_FAULTS, *MISBEHAVIOURS]


@dataclass(frozen=True)
class Target:
    """Where a request belongs: its run id and batch number, when the player could tell."""

    run_id: str | None = None
    batch: int | None = None
    model: str | None = None


@dataclass
class Rule:
    behaviour: str
    run: str | None = None
    batch: int | None = None
    times: int | None = None
    latency_ms: int | None = None
    model: str | None = None
    retry_after: int | None = None
    after_events: int | None = None
    fired: int = field(default=0, compare=False)

    def __post_init__(self) -> None:
        if self.behaviour not in HTTP_FAULTS and self.behaviour not in MISBEHAVIOURS:
            raise ValueError(f"unknown behaviour {self.behaviour!r}; known: {', '.join(known_behaviours())}")
        for name in ("run", "model"):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, str) or not value):
                raise ValueError(f"{name} must be a non-empty string")
        for name in _INT_KEYS:
            value = getattr(self, name)
            if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value < 0):
                raise ValueError(f"{name} must be a whole number >= 0, not {value!r}")
        if self.batch is not None and self.batch < 1:
            raise ValueError("batch numbers start at 1")
        if self.retry_after is not None and self.behaviour != "rate-limit":
            raise ValueError("retry_after applies to rate-limit only")
        if self.after_events is not None and self.behaviour not in ("break-stream", "stream-error"):
            raise ValueError("after_events applies to break-stream and stream-error only")

    @property
    def is_http_fault(self) -> bool:
        return self.behaviour in HTTP_FAULTS

    @property
    def action(self) -> str | None:
        fault = HTTP_FAULTS.get(self.behaviour)
        return fault.action if fault else None

    @property
    def remaining(self) -> int | None:
        return None if self.times is None else max(0, self.times - self.fired)

    @property
    def used_up(self) -> bool:
        return self.times is not None and self.fired >= self.times

    def matches(self, target: Target) -> bool:
        if self.run is not None and (target.run_id is None or self.run not in target.run_id):
            return False
        if self.model is not None and (target.model is None or self.model not in target.model):
            return False
        return not (self.batch is not None and target.batch != self.batch)

    def delay_ms(self) -> int:
        if self.latency_ms is not None:
            return self.latency_ms
        fault = HTTP_FAULTS.get(self.behaviour)
        return fault.default_latency_ms if fault else 0

    @classmethod
    def from_dict(cls, data: Any) -> Rule:
        if isinstance(data, Rule):
            return cls(
                data.behaviour,
                data.run,
                data.batch,
                data.times,
                data.latency_ms,
                data.model,
                data.retry_after,
                data.after_events,
            )
        if isinstance(data, str):
            return parse_rule(data)
        if not isinstance(data, dict):
            raise ValueError(f"a rule is an object like {{'behaviour': 'rate-limit'}}, not {data!r}")
        unknown = set(data) - {
            "behaviour",
            "run",
            "batch",
            "times",
            "latency_ms",
            "model",
            "retry_after",
            "after_events",
            "remaining",
            "fired",
        }
        if unknown:
            raise ValueError(f"unknown rule keys: {', '.join(sorted(unknown))}")
        if "behaviour" not in data:
            raise ValueError("a rule needs a behaviour")
        return cls(
            behaviour=data["behaviour"],
            run=data.get("run"),
            batch=data.get("batch"),
            times=data.get("times"),
            latency_ms=data.get("latency_ms"),
            model=data.get("model"),
            retry_after=data.get("retry_after"),
            after_events=data.get("after_events"),
        )

    def to_dict(self) -> dict:
        return {
            "behaviour": self.behaviour,
            "run": self.run,
            "batch": self.batch,
            "times": self.times,
            "latency_ms": self.latency_ms,
            "model": self.model,
            "retry_after": self.retry_after,
            "after_events": self.after_events,
            "fired": self.fired,
            "remaining": self.remaining,
        }


_INT_KEYS = ("batch", "times", "latency_ms", "retry_after", "after_events")


def parse_rule(spec: str) -> Rule:
    """`BEHAVIOUR[:key=value,...]`, e.g. `empty-file:batch=2,times=1` or `slow:latency_ms=500`."""
    behaviour, _, options = spec.strip().partition(":")
    values: dict[str, Any] = {"behaviour": behaviour.strip()}
    for item in filter(None, (part.strip() for part in options.split(","))):
        key, sep, value = item.partition("=")
        key = key.strip().replace("-", "_")
        value = value.strip()
        if not sep or not value:
            raise ValueError(f"{item!r} in rule {spec!r} is not key=value")
        if key not in (*_INT_KEYS, "run", "model"):
            raise ValueError(
                f"unknown rule key {key!r} in {spec!r} (known: run, model, {', '.join(_INT_KEYS)})"
            )
        if key in _INT_KEYS:
            try:
                values[key] = int(value)
            except ValueError:
                raise ValueError(f"{key} must be a whole number in rule {spec!r}") from None
        else:
            values[key] = value
    return Rule.from_dict(values)


@dataclass(frozen=True)
class HttpDecision:
    """What the HTTP faults decided for one request: wait this long, then maybe act."""

    delay_ms: int = 0
    fault: HttpFault | None = None
    rule: Rule | None = None


class RuleBook:
    """The simulator's current rules. Thread-safe: every server thread draws from the same `times`."""

    def __init__(self, rules: Any = ()) -> None:
        self._lock = threading.Lock()
        self._rules: list[Rule] = [Rule.from_dict(rule) for rule in rules]

    def replace(self, rules: Any) -> None:
        parsed = [Rule.from_dict(rule) for rule in rules]
        with self._lock:
            self._rules = parsed

    def add(self, rules: Any) -> None:
        parsed = [Rule.from_dict(rule) for rule in rules]
        with self._lock:
            self._rules.extend(parsed)

    def clear(self) -> None:
        with self._lock:
            self._rules = []

    def as_list(self) -> list[dict]:
        with self._lock:
            return [rule.to_dict() for rule in self._rules]

    def __len__(self) -> int:
        with self._lock:
            return len(self._rules)

    def take_http(self, target: Target) -> HttpDecision:
        """Fire the request rules matching this request: every matching "slow" rule adds its wait; the
        first matching failure (if any) is the answer."""
        return self.take(target, REQUEST_ACTIONS)

    def take(self, target: Target, actions: frozenset[str]) -> HttpDecision:
        """Fire the matching rules whose action is one of `actions`: every "delay" adds its wait, the
        first other one is the decision."""
        delay = 0
        with self._lock:
            for rule in self._rules:
                if rule.action not in actions or rule.used_up or not rule.matches(target):
                    continue
                rule.fired += 1
                delay += rule.delay_ms()
                fault = HTTP_FAULTS[rule.behaviour]
                if fault.action != "delay":
                    return HttpDecision(delay, fault, rule)
        return HttpDecision(delay)

    def take_misbehaviour(self, target: Target, supported: frozenset[str] | None = None) -> Rule | None:
        """The misbehaviour a new conversation starts with (first matching rule that the player can
        play), firing it."""
        with self._lock:
            for rule in self._rules:
                if rule.is_http_fault or rule.used_up or not rule.matches(target):
                    continue
                if supported is not None and rule.behaviour not in supported:
                    continue
                rule.fired += 1
                return rule
        return None
