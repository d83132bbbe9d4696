"""One POST /v1/messages, from a validated body to the message to send: the request checks that need the
model, the fault rules, the player's turn (or the rest of a paused one), the quirks, and the usage.

The handler (server.py) does the HTTP: it calls `prepare`, which waits out the latency and the rules'
delays, then starts the response, commits the cache plan at that moment (cache.py: an entry is readable
once the response that wrote it has started) and sends the message, streamed or not.

A request of a Message Batch goes through the same `prepare`, with a `MessageBatchCall`
(message_batches.py): nothing sleeps (the rules' delays come back as `Reply.wait_ms`, for the batch's
schedule), the cache is read as it was when the batch arrived, the parameters a batch refuses are
refused, the `batch-expire` rule can expire it, and its usage says `service_tier: "batch"`.
"""

from __future__ import annotations

import logging
import math
import secrets
import time
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from . import model_rules, pauses, quirks, tokens
from .answers import context_exceeded, finish_turn, split_for_pause
from .cache import CachePlan
from .faults import ANSWER_ACTIONS, BATCH_ACTIONS, STREAM_ACTIONS, HttpDecision, Target
from .players import Conversation, behaviour_of, find_player
from .ratelimits import rate_limited_headers
from .validation import SimulatorError, invalid, validate_messages_request

if TYPE_CHECKING:
    from .server import SimulatorServer

log = logging.getLogger("runs.simulator")


class DropConnection(Exception):
    """Close the socket without answering."""


class Expired(Exception):
    """A Message Batch request the `batch-expire` rule ends `expired`: it never reaches the model."""


@dataclass(frozen=True)
class MessageBatchCall:
    """The request is one of a Message Batch that arrived at `arrived_at` (the server clock's time)."""

    arrived_at: float


# https://platform.claude.com/docs/en/build-with-claude/batch-processing ("What can be batched"): "A small
# number of Messages API parameters are not supported in batch requests. Including any of these returns a
# validation error". Of that table, these are parameters /v1/messages takes (max_tokens: 0 and the rest
# are refused on /v1/messages already). The reasons are the page's; the wording around them is ours.
UNBATCHABLE = {
    "stream": "batch results come back as a single file, not a stream",
    "speed": "fast mode tunes synchronous latency, which does not apply to asynchronous batch processing",
}


@dataclass
class Reply:
    message: dict
    cache_plan: CachePlan
    stream: bool
    stream_fault: HttpDecision  # break-stream / stream-error, when one fired (fault is None otherwise)
    wait_ms: int = 0  # what the latency and the rules added (slept already, except in a message batch)


def prepare(
    server: SimulatorServer, body: Any, request_id: str, message_batch: MessageBatchCall | None = None
) -> Reply:
    started = time.monotonic()
    model_id = str(body.get("model")) if isinstance(body, dict) else ""
    validate_messages_request(body, paused=server.pauses.paused(model_id))
    if message_batch is not None:
        _refuse_unbatchable(body)
    model = model_rules.known_model(body)
    model_rules.check_request(body, model, count_tokens=False)
    model_rules.check_context(body, model)
    # What the cache holds as the request arrives: entries written by responses that start later,
    # while this one waits, are not readable to it.
    plan = server.cache.plan(body, as_of=message_batch.arrived_at if message_batch else None)
    stream = bool(body.get("stream"))
    sleep = _sleep if message_batch is None else _no_sleep

    conversation = Conversation.from_body(body)
    player = find_player(conversation)
    target = replace(player.target(conversation), model=model_id)
    # The server's latency stands for the time of one synchronous call; a message batch has its own delay.
    wait_ms = server.latency_ms if message_batch is None else 0

    if message_batch is not None and server.rules.take(target, BATCH_ACTIONS).fault is not None:
        log.info("%s rule batch-expire fired (run %s, batch %s)", request_id, *_where(target))
        raise Expired()
    decision = server.rules.take_http(target)
    wait_ms += decision.delay_ms
    if decision.fault is not None and decision.rule is not None:  # a fault is always a rule's
        sleep(wait_ms)
        log.info("%s rule %s fired (run %s, batch %s)", request_id, decision.rule.behaviour, *_where(target))
        if decision.fault.action == "drop":
            raise DropConnection()
        headers = dict(decision.fault.headers)
        if decision.rule.behaviour == "rate-limit":
            headers.update(rate_limited_headers(decision.rule.retry_after))
        raise SimulatorError(
            decision.fault.status,
            decision.fault.error_type,
            decision.fault.message,
            headers,
            decision.fault.error_code,
        )

    paused_last = conversation.messages[-1]["role"] == "assistant"
    if paused_last:
        # validation.py let an assistant turn last only because it is a pause_turn answer: continue it.
        turn_key = pauses.key(model_id, body["messages"][:-1], body["messages"][-1]["content"])
        answer = dict(server.pauses.rest(turn_key) or {})
        behaviour = None
    else:
        behaviour, delay = _behaviour(server, conversation, player, target, request_id)
        wait_ms += delay
        answer = finish_turn(player.play(conversation, behaviour), conversation, behaviour)
        answer = _answer_faults(server, target, answer, body, model_id, request_id)
    if server.quirks and answer["stop_reason"] == "tool_use":
        turn = sum(1 for message in conversation.messages if message["role"] == "assistant")
        answer["content"] = quirks.with_empty_text(answer["content"], conversation.first_user_text, turn)

    stream_fault = server.rules.take(target, STREAM_ACTIONS) if stream else HttpDecision()
    wait_ms += stream_fault.delay_ms
    usage = plan.usage.as_usage()
    usage["output_tokens"] = tokens.count_output(answer["content"])
    # https://platform.claude.com/docs/en/api/messages (Usage.service_tier: "standard", "priority" or
    # "batch"; the SDK's types/usage.py has the same three).
    usage["service_tier"] = "standard" if message_batch is None else "batch"
    message = {
        "id": f"msg_sim{secrets.token_hex(12)}",
        "type": "message",
        "role": "assistant",
        "model": conversation.model,
        **answer,
        "usage": usage,
    }
    sleep(wait_ms)
    log.debug(
        "%s %s %s turn %d -> %s (in %d, cache write %d, cache read %d, out %d) %.0f ms",
        request_id,
        conversation.model,
        player.name,
        math.ceil(len(conversation.messages) / 2),
        message["stop_reason"],
        usage["input_tokens"],
        usage["cache_creation_input_tokens"],
        usage["cache_read_input_tokens"],
        usage["output_tokens"],
        (time.monotonic() - started) * 1000,
    )
    return Reply(message, plan, stream, stream_fault, wait_ms)


def _refuse_unbatchable(body: dict) -> None:
    for name, why in UNBATCHABLE.items():
        value = body.get(name)
        if value is None or value is False:
            continue
        raise invalid(f"{name}: not supported in a Message Batch request ({why})")


def _behaviour(server, conversation, player, target, request_id) -> tuple[str | None, int]:
    """The conversation's misbehaviour, and how long its rule waits before the answer."""
    if conversation.is_first_request:
        rule = server.rules.take_misbehaviour(target, player.behaviours)
        if rule is None:
            return None, 0
        log.info(
            "%s conversation starts with misbehaviour %s (run %s, batch %s)",
            request_id,
            rule.behaviour,
            *_where(target),
        )
        return rule.behaviour, rule.delay_ms()
    behaviour = behaviour_of(conversation)
    return (behaviour if behaviour in player.behaviours else None), 0


def _answer_faults(server, target, answer: dict, body: dict, model_id: str, request_id: str) -> dict:
    if answer["stop_reason"] not in ("end_turn", "tool_use"):
        return answer
    split = split_for_pause(answer)
    # A pause needs something said before the first tool call; without it, a pause rule waits for a
    # later turn.
    actions = ANSWER_ACTIONS if split is not None else ANSWER_ACTIONS - {"pause"}
    decision = server.rules.take(target, actions)
    if decision.fault is None or decision.rule is None:
        return answer
    log.info("%s rule %s fired (run %s, batch %s)", request_id, decision.rule.behaviour, *_where(target))
    if decision.fault.action == "context":
        return context_exceeded(answer)
    if split is None:  # not offered a pause (actions above), so the rule cannot have been one
        return answer
    paused, rest = split
    server.pauses.remember(pauses.key(model_id, body["messages"], paused["content"]), rest)
    return paused


def _sleep(ms: int) -> None:
    if ms > 0:
        time.sleep(ms / 1000)


def _no_sleep(ms: int) -> None:
    """A message batch request waits in its batch's schedule, not in a server thread."""


def _where(target: Target) -> tuple[str, str]:
    return (target.run_id or "-", str(target.batch) if target.batch is not None else "-")
