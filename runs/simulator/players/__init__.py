"""Players: the simulated agents, one per erkweb operation, chosen by the system prompt's first line.

A player is stateless across requests, like a real model: everything it needs (the assignment, what the
tools answered, the misbehaviour it plays) is read back from the conversation it is sent. It returns
one assistant turn; the server signs its thinking blocks, applies max_tokens and counts the usage.

Each operation carries its own player (`player.py` in its package, named by `Operation.simulator_player`):
a Player subclass whose `marker` is the first line of that operation's system prompt. This module is
what players share (reading the conversation, building a turn); it knows no operation.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from functools import cache
from typing import Any

from runs.tools import EMPTY_FILE_RESULT

from .. import tokens
from ..faults import Target
from ..validation import signature_behaviour

TOOL_USE_PREFIX = "toolu_sim"
BEHAVIOUR_SEPARATOR = "__"


@dataclass
class Conversation:
    """A validated request, seen from the model's side."""

    body: dict
    model: str
    system_text: str
    messages: list[dict]  # every content normalised to a list of blocks
    max_tokens: int
    tool_names: frozenset[str]
    thinking: bool  # False when the request turned thinking off

    @classmethod
    def from_body(cls, body: dict) -> Conversation:
        system = "\n".join(str(block.get("text", "")) for block in tokens.system_blocks(body.get("system")))
        messages = [
            {"role": message["role"], "content": tokens.message_blocks(message)}
            for message in body.get("messages") or []
        ]
        thinking = (body.get("thinking") or {}).get("type") != "disabled"
        return cls(
            body=body,
            model=str(body.get("model")),
            system_text=system,
            messages=messages,
            max_tokens=int(body.get("max_tokens") or 0),
            tool_names=frozenset(tool.get("name") for tool in body.get("tools") or []),
            thinking=thinking,
        )

    @property
    def is_first_request(self) -> bool:
        return len(self.messages) == 1

    @property
    def first_user_text(self) -> str:
        if not self.messages:
            return ""
        return "\n".join(
            str(block.get("text", "")) for block in self.messages[0]["content"] if block.get("type") == "text"
        )

    def assistant_blocks(self) -> list[dict]:
        return [block for m in self.messages if m["role"] == "assistant" for block in m["content"]]

    def tool_uses(self) -> dict[str, dict]:
        """Every tool_use the assistant made so far, by id."""
        return {block["id"]: block for block in self.assistant_blocks() if block.get("type") == "tool_use"}

    def tool_results(self) -> list[tuple[dict, dict]]:
        """(tool_use, tool_result) pairs, in conversation order."""
        uses = self.tool_uses()
        pairs = []
        for message in self.messages:
            if message["role"] != "user":
                continue
            for block in message["content"]:
                if block.get("type") == "tool_result" and block.get("tool_use_id") in uses:
                    pairs.append((uses[block["tool_use_id"]], block))
        return pairs

    def last_tool_uses(self) -> list[dict]:
        """The tool_use blocks of the newest assistant message (the ones the last user turn answered)."""
        for message in reversed(self.messages):
            if message["role"] == "assistant":
                return [block for block in message["content"] if block.get("type") == "tool_use"]
        return []


@dataclass
class Turn:
    """One assistant answer, before signing and max_tokens."""

    content: list[dict]
    stop_reason: str = "end_turn"
    stop_details: dict | None = None
    # When set, the server cuts the answer at this many output tokens and stops with max_tokens.
    truncate_at: int | None = None


def result_text(result: dict) -> str:
    return tokens.tool_result_text(result.get("content"))


def file_text(result: dict) -> str:
    """What a successful read_file result says the file holds: erkweb's read_file answers an empty file
    with EMPTY_FILE_RESULT (a tool result is never empty), which a model reads as an empty file."""
    text = result_text(result)
    return "" if text == EMPTY_FILE_RESULT else text


def result_ok(result: dict) -> bool:
    return not result.get("is_error") and not result_text(result).startswith("error:")


def thinking(text: str) -> dict:
    """A thinking block; the server fills in the signature (with the conversation's behaviour)."""
    return {"type": "thinking", "thinking": text, "signature": ""}


def text(content: str) -> dict:
    return {"type": "text", "text": content}


def tool_use(name: str, tool_input: dict[str, Any], behaviour: str | None) -> dict:
    """A tool_use block whose id also carries the conversation's behaviour (see behaviour_of)."""
    suffix = f"{BEHAVIOUR_SEPARATOR}{behaviour}" if behaviour else ""
    return {
        "type": "tool_use",
        "id": f"{TOOL_USE_PREFIX}{secrets.token_hex(10)}{suffix}",
        "name": name,
        "input": tool_input,
    }


def after_write(result: dict, behaviour: str | None, *, final: str, wrong_final: str, refused: str) -> Turn:
    """The last turn of every player, once its write_file call came back.

    ``write-outside`` gives up with ``refused`` (its write went elsewhere and was refused); a failed
    write is reported; ``wrong-final`` ends with ``wrong_final`` instead of the protocol's final message.
    """
    if behaviour == "write-outside":
        return Turn([text(refused)])
    if not result_ok(result):
        return Turn(
            [text(f"I could not write the output file ({result_text(result).strip()}). Stopping here.")]
        )
    if behaviour == "wrong-final":
        return Turn([text(wrong_final)])
    return Turn([text(final)])


def behaviour_of(conversation: Conversation) -> str | None:
    """The misbehaviour this conversation started with, read back from what the simulator emitted.

    The signed thinking blocks are the first witness; tool_use ids are the second, for a client that
    drops thinking blocks from older turns (which the real API allows)."""
    for block in conversation.assistant_blocks():
        if block.get("type") == "thinking":
            behaviour = signature_behaviour(block.get("thinking", ""), block.get("signature", ""))
            if behaviour:
                return behaviour
    for block in conversation.assistant_blocks():
        block_id = block.get("id", "") if block.get("type") == "tool_use" else ""
        if block_id.startswith(TOOL_USE_PREFIX) and BEHAVIOUR_SEPARATOR in block_id:
            return block_id.split(BEHAVIOUR_SEPARATOR, 1)[1] or None
    return None


class Player:
    """Base class: plays one operation's agent."""

    name = "player"
    marker = ""
    behaviours: frozenset[str] = frozenset()  # the misbehaviours this player knows how to play

    def handles(self, conversation: Conversation) -> bool:
        lines = conversation.system_text.strip().splitlines()
        return bool(self.marker) and bool(lines) and lines[0].strip() == self.marker

    def assignment(self, conversation: Conversation):
        """The batch assignment read from the first user message (with ``run_id`` and ``index``), or None."""
        return None

    def target(self, conversation: Conversation) -> Target:
        """The run and batch this conversation belongs to, for fault rules."""
        assignment = self.assignment(conversation)
        return Target(run_id=assignment.run_id, batch=assignment.index) if assignment else Target()

    # What it answers when the first message holds no assignment it can read.
    without_assignment = "I could not find my assignment in the first message."

    def play(self, conversation: Conversation, behaviour: str | None) -> Turn:
        """The start every operation's agent shares (no assignment: say so; the ``refusal`` rule: refuse),
        then ``play_assignment``."""
        assignment = self.assignment(conversation)
        if assignment is None:
            return Turn([text(self.without_assignment)])
        if behaviour == "refusal":
            return refusal()
        return self.play_assignment(conversation, assignment, behaviour)

    def play_assignment(self, conversation: Conversation, assignment: Any, behaviour: str | None) -> Turn:
        raise NotImplementedError


def refusal() -> Turn:
    """What the ``refusal`` misbehaviour answers (a new Turn each time: the server fills answers in)."""
    return Turn(
        [],
        stop_reason="refusal",
        stop_details={
            "type": "refusal",
            "category": None,
            "explanation": "Simulated refusal (erkweb simulator rule 'refusal').",
        },
    )


class PolitePlayer(Player):
    """Any conversation that is not one of erkweb's operations: a short, honest text answer."""

    name = "polite"

    def handles(self, conversation: Conversation) -> bool:
        return True

    def play(self, conversation: Conversation, behaviour: str | None) -> Turn:
        return Turn(
            [
                text(
                    "Hello! This is erkweb's offline Messages API simulator, not a real model. I can only "
                    "play erkweb's agent operations (a system prompt whose first line is an operation "
                    "marker such as '# erkweb agent: audit-scan'), so I have no real answer to this "
                    "conversation."
                )
            ]
        )


_FALLBACK = PolitePlayer()


def players() -> dict[str, Player]:
    """The player of every registered operation (Operation.simulator_player), by marker."""
    from django.conf import settings

    return _players_of(tuple(settings.ERKWEB_OPERATIONS))


@cache
def _players_of(operation_paths: tuple[str, ...]) -> dict[str, Player]:
    # Keyed on the registry's setting, as the registry is; imported late: a player imports its
    # operation's own modules, which need the app's code in place.
    from django.utils.module_loading import import_string

    from runs.operations import operations

    found = (import_string(op.simulator_player)() for op in operations() if op.simulator_player)
    return {player.marker: player for player in found}


def find_player(conversation: Conversation) -> Player:
    lines = conversation.system_text.strip().splitlines()
    first_line = lines[0].strip() if lines else ""
    player = players().get(first_line)
    if player is not None and player.handles(conversation):
        return player
    return _FALLBACK
