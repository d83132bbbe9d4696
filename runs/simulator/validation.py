"""Request validation, as strict as the real Messages API where erkweb's agent loop could go wrong.

A request that the real API would refuse gets the same status and an Anthropic-shaped error body here,
so that a bug in the agent loop (an unanswered tool_use, a dropped or edited thinking block, a sampling
parameter on a model that refuses it, a fifth cache breakpoint) fails in the tests, not in production.

Also here: the signing of the thinking blocks the simulator emits. The real API signs thinking blocks and
refuses them back when they were changed; the simulator does the same with an HMAC, and carries the
conversation's misbehaviour (faults.py) inside the signed payload so that it survives from turn to turn
without any server-side state.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from anthropic.types import (
    DocumentBlockParam,
    ImageBlockParam,
    RedactedThinkingBlockParam,
    SearchResultBlockParam,
    TextBlockParam,
    ThinkingBlockParam,
    ToolParam,
    ToolResultBlockParam,
    ToolUseBlockParam,
)

from .cache import segments

# A fixed key, not a per-process secret: a conversation must survive a restart of the simulator (as it
# survives a deploy of the real API). The signature proves "emitted by a simulator, unchanged", nothing more.
_THINKING_KEY = b"erkweb-simulator/thinking-signature/v1"
_SIGNATURE_PREFIX = "sim1"

MAX_CACHE_BREAKPOINTS = 4
TOOL_NAME_RE = re.compile(r"^[a-zA-Z0-9_-]{1,128}$")
TOOL_USE_ID_RE = re.compile(r"^[a-zA-Z0-9_-]+$")
MODEL_VERSION_RE = re.compile(r"^claude-[a-z]+-(\d+)(?:-(\d{1,2}))?(?:-|$)")
SAMPLING_PARAMETERS = ("temperature", "top_p", "top_k")

# Top-level fields of POST /v1/messages in the installed SDK (types/message_create_params.py), plus the
# sampling parameters that older models still take. Anything else is "Extra inputs are not permitted".
MESSAGES_FIELDS = frozenset(
    {
        "model",
        "messages",
        "max_tokens",
        "system",
        "tools",
        "tool_choice",
        "thinking",
        "stop_sequences",
        "stream",
        "metadata",
        "service_tier",
        "cache_control",
        "container",
        "context_management",
        "diagnostics",
        "inference_geo",
        "mcp_servers",
        "output_config",
        "speed",
        "user_profile_id",
        "workspace_id",
        *SAMPLING_PARAMETERS,
    }
)
COUNT_TOKENS_FIELDS = frozenset(
    {
        "model",
        "messages",
        "system",
        "tools",
        "tool_choice",
        "thinking",
        "cache_control",
        "context_management",
        "mcp_servers",
        "output_config",
        "speed",
        "user_profile_id",
        "workspace_id",
    }
)
USER_BLOCK_TYPES = ("text", "image", "document", "search_result", "tool_result")
ASSISTANT_BLOCK_TYPES = ("text", "thinking", "redacted_thinking", "tool_use")
TOOL_RESULT_CONTENT_TYPES = ("text", "image", "document", "search_result")


def _keys(param: Any) -> frozenset[str]:
    return frozenset(param.__required_keys__ | param.__optional_keys__)


# The keys each content block and tool definition may carry: the SDK's request TypedDicts list them
# (anthropic/types/*_param.py). Any other key is "Extra inputs are not permitted", as on the real API.
BLOCK_KEYS = {
    "text": _keys(TextBlockParam),
    "image": _keys(ImageBlockParam),
    "document": _keys(DocumentBlockParam),
    "search_result": _keys(SearchResultBlockParam),
    "tool_result": _keys(ToolResultBlockParam),
    "thinking": _keys(ThinkingBlockParam),
    "redacted_thinking": _keys(RedactedThinkingBlockParam),
    "tool_use": _keys(ToolUseBlockParam),
}
TOOL_KEYS = _keys(ToolParam)
THINKING_KEYS = {
    "enabled": frozenset({"type", "budget_tokens", "display"}),
    "adaptive": frozenset({"type", "display"}),
    "disabled": frozenset({"type"}),
    "between_tools": frozenset({"type"}),
}


@dataclass
class SimulatorError(Exception):
    """An error answer: HTTP status, Anthropic error type and message, optional extra headers."""

    status: int
    error_type: str
    message: str
    headers: dict[str, str] = field(default_factory=dict)
    error_code: str = ""  # error.details.error_code, when the real API gives one

    def __str__(self) -> str:
        return f"{self.status} {self.error_type}: {self.message}"

    def body(self, request_id: str) -> dict:
        return error_body(self.error_type, self.message, request_id, self.error_code)


def error_body(error_type: str, message: str, request_id: str, error_code: str = "") -> dict:
    error: dict[str, Any] = {"type": error_type, "message": message}
    if error_code:
        error["details"] = {"error_code": error_code}
    return {"type": "error", "error": error, "request_id": request_id}


def invalid(message: str) -> SimulatorError:
    return SimulatorError(400, "invalid_request_error", message)


# --- thinking signatures ------------------------------------------------------------------------------


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _mac(payload: str, thinking: str) -> str:
    digest = hmac.new(_THINKING_KEY, f"{payload}\n{thinking}".encode(), hashlib.sha256).digest()
    return _b64(digest)


def sign_thinking(thinking: str, behaviour: str | None = None) -> str:
    """The signature of a thinking block the simulator emits; `behaviour` rides along, signed."""
    payload = _b64(json.dumps({"b": behaviour or ""}, separators=(",", ":")).encode())
    return f"{_SIGNATURE_PREFIX}.{payload}.{_mac(payload, thinking)}"


def verify_thinking(thinking: str, signature: str) -> dict | None:
    """The signed payload when `signature` was made by sign_thinking for exactly `thinking`, else None."""
    if not isinstance(thinking, str) or not isinstance(signature, str):
        return None
    parts = signature.split(".")
    if len(parts) != 3 or parts[0] != _SIGNATURE_PREFIX:
        return None
    payload, mac = parts[1], parts[2]
    if not hmac.compare_digest(mac, _mac(payload, thinking)):
        return None
    try:
        decoded = json.loads(_unb64(payload))
    except (ValueError, binascii.Error):
        return None
    return decoded if isinstance(decoded, dict) else None


def signature_behaviour(thinking: str, signature: str) -> str | None:
    payload = verify_thinking(thinking, signature)
    if not payload:
        return None
    return payload.get("b") or None


# --- models -------------------------------------------------------------------------------------------


def model_generation(model: str) -> int | None:
    """The major version in a `claude-<family>-<major>[-<minor>]` id (5 for claude-sonnet-5-5), else None."""
    match = MODEL_VERSION_RE.match(model)
    return int(match.group(1)) if match else None


def refuses_sampling_parameters(model: str) -> bool:
    # models.md: "Sampling parameters ... return an error on Sonnet 5 and later". Every generation-5 model
    # (haiku-5-5 included) came out after Sonnet 5, so the rule is by generation, not by family.
    generation = model_generation(model)
    return generation is not None and generation >= 5


# --- headers ------------------------------------------------------------------------------------------


def has_credentials(headers: Any) -> bool:
    """An API key in `x-api-key`, or in `Authorization: Bearer`, which is where SDK 2.14 sends it."""
    if (headers.get("x-api-key") or "").strip():
        return True
    scheme, _, token = (headers.get("authorization") or "").strip().partition(" ")
    return scheme.lower() == "bearer" and bool(token.strip())


def check_headers(headers: Any) -> None:
    """401 without an API key (any non-empty key is accepted), 400 without anthropic-version."""
    if not has_credentials(headers):
        raise SimulatorError(
            401, "authentication_error", "x-api-key header is required (or Authorization: Bearer <key>)"
        )
    if not (headers.get("anthropic-version") or "").strip():
        raise invalid("anthropic-version: header is required")


# --- request body -------------------------------------------------------------------------------------


# paused(messages_before, content) -> whether `content` is a pause_turn answer the simulator gave to a
# conversation that was `messages_before` (pauses.py).
Paused = Callable[[list, list], bool]


def validate_messages_request(body: Any, paused: Paused | None = None) -> None:
    """Raise SimulatorError (400) for a POST /v1/messages body the real API would refuse."""
    _validate(body, count_tokens=False, paused=paused)


def validate_count_tokens_request(body: Any) -> None:
    _validate(body, count_tokens=True, paused=None)


def _validate(body: Any, *, count_tokens: bool, paused: Paused | None) -> None:
    if not isinstance(body, dict):
        raise invalid("The request body must be a JSON object")
    allowed = COUNT_TOKENS_FIELDS if count_tokens else MESSAGES_FIELDS
    for key in body:
        if key not in allowed:
            raise invalid(f"{key}: Extra inputs are not permitted")

    model = body.get("model")
    if "model" not in body:
        raise invalid("model: Field required")
    if not isinstance(model, str) or not model.startswith("claude-"):
        raise invalid(
            f"model: {json.dumps(model)} is not a valid model id (expected an id like claude-haiku-5-5)"
        )

    if not count_tokens:
        _validate_max_tokens(body)
        if "stream" in body and not isinstance(body["stream"], bool):
            raise invalid("stream: Input should be a valid boolean")
        stop_sequences = body.get("stop_sequences")
        if stop_sequences is not None and (
            not isinstance(stop_sequences, list) or not all(isinstance(s, str) for s in stop_sequences)
        ):
            raise invalid("stop_sequences: Input should be a valid list of strings")
        if "metadata" in body and not isinstance(body["metadata"], dict):
            raise invalid("metadata: Input should be a valid dictionary")
        _validate_sampling(body, model)

    breakpoints = 0
    if body.get("cache_control") is not None:
        _validate_cache_control(body["cache_control"], "cache_control")
        breakpoints += 1
    tool_names = _validate_tools(body.get("tools"))
    breakpoints += sum(1 for tool in body.get("tools") or [] if tool.get("cache_control") is not None)
    breakpoints += _validate_system(body.get("system"))
    _validate_tool_choice(body.get("tool_choice"), tool_names)
    _validate_thinking_config(body.get("thinking"), body.get("max_tokens"), count_tokens)
    breakpoints += _validate_messages(body.get("messages"), "messages" in body, tool_names, paused)
    if breakpoints > MAX_CACHE_BREAKPOINTS:
        raise invalid(
            f"A maximum of {MAX_CACHE_BREAKPOINTS} blocks with cache_control may be provided. "
            f"Found {breakpoints}."
        )
    _validate_ttl_order(body)


def _validate_ttl_order(body: dict) -> None:
    """https://platform.claude.com/docs/en/build-with-claude/prompt-caching ("Mixing different TTLs"):
    cache entries with a longer TTL must come before shorter ones, in the order tools, system, messages.
    The message is ours."""
    seen_5m = False
    for seg in segments(body):
        if seg.ttl == "5m":
            seen_5m = True
        elif seg.ttl == "1h" and seen_5m:
            raise invalid(
                'cache_control: a breakpoint with ttl "1h" must not come after one with ttl "5m" '
                "(longer TTLs first, in the order tools, system, messages)"
            )


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _validate_max_tokens(body: dict) -> None:
    if "max_tokens" not in body:
        raise invalid("max_tokens: Field required")
    max_tokens = body["max_tokens"]
    if not _is_int(max_tokens):
        raise invalid("max_tokens: Input should be a valid integer")
    if max_tokens < 1:
        raise invalid("max_tokens: Input should be greater than or equal to 1")


def _validate_sampling(body: dict, model: str) -> None:
    for name in SAMPLING_PARAMETERS:
        if body.get(name) is None:
            continue
        if refuses_sampling_parameters(model):
            raise invalid(
                f"{name}: sampling parameters (temperature, top_p, top_k) are not supported for {model}; "
                "remove them from the request"
            )
        value = body[name]
        if not isinstance(value, int | float) or isinstance(value, bool):
            raise invalid(f"{name}: Input should be a valid number")
    temperature = body.get("temperature")
    if temperature is not None and not 0 <= temperature <= 1:
        raise invalid("temperature: Input should be less than or equal to 1")


def _validate_cache_control(value: Any, where: str) -> None:
    if not isinstance(value, dict) or value.get("type") != "ephemeral":
        raise invalid(f"{where}.type: Input should be 'ephemeral'")
    for key in value:
        if key not in ("type", "ttl"):
            raise invalid(f"{where}.{key}: Extra inputs are not permitted")
    if "ttl" in value and value["ttl"] not in ("5m", "1h"):
        raise invalid(f"{where}.ttl: Input should be '5m' or '1h'")


def _validate_tools(tools: Any) -> set[str]:
    if tools is None:
        return set()
    if not isinstance(tools, list):
        raise invalid("tools: Input should be a valid list")
    names: set[str] = set()
    for i, tool in enumerate(tools):
        where = f"tools.{i}"
        if not isinstance(tool, dict):
            raise invalid(f"{where}: Input should be a valid dictionary")
        kind = tool.get("type")
        if kind not in (None, "custom"):
            raise invalid(f"{where}.type: the simulator only supports custom (client) tools, not {kind!r}")
        for key in tool:
            if key not in TOOL_KEYS:
                raise invalid(f"{where}.custom.{key}: Extra inputs are not permitted")
        if "name" not in tool:
            raise invalid(f"{where}.name: Field required")
        name = tool["name"]
        if not isinstance(name, str) or not TOOL_NAME_RE.match(name):
            raise invalid(f"{where}.name: String should match pattern '{TOOL_NAME_RE.pattern}'")
        if name in names:
            raise invalid(f"tools: Tool names must be unique (duplicate: {name})")
        names.add(name)
        if "description" in tool and not isinstance(tool["description"], str):
            raise invalid(f"{where}.description: Input should be a valid string")
        if "input_schema" not in tool:
            raise invalid(f"{where}.input_schema: Field required")
        schema = tool["input_schema"]
        if not isinstance(schema, dict):
            raise invalid(f"{where}.input_schema: Input should be a valid dictionary")
        if schema.get("type") != "object":
            raise invalid(f"{where}.input_schema.type: Input should be 'object'")
        if schema.get("properties") is not None and not isinstance(schema["properties"], dict):
            raise invalid(f"{where}.input_schema.properties: Input should be a valid dictionary")
        required = schema.get("required")
        if required is not None and (
            not isinstance(required, list) or not all(isinstance(r, str) for r in required)
        ):
            raise invalid(f"{where}.input_schema.required: Input should be a valid list of strings")
        if tool.get("cache_control") is not None:
            _validate_cache_control(tool["cache_control"], f"{where}.cache_control")
    return names


def _validate_system(system: Any) -> int:
    """Validate the system prompt; return how many cache breakpoints it holds."""
    if system is None or isinstance(system, str):
        return 0
    if not isinstance(system, list):
        raise invalid("system: Input should be a valid string or a list of text blocks")
    breakpoints = 0
    for i, block in enumerate(system):
        where = f"system.{i}"
        if not isinstance(block, dict) or block.get("type") != "text":
            raise invalid(f"{where}.type: Input should be 'text'")
        _validate_keys(block, where)
        _validate_text(block, where)
        if block.get("cache_control") is not None:
            _validate_cache_control(block["cache_control"], f"{where}.cache_control")
            breakpoints += 1
    return breakpoints


def _validate_tool_choice(tool_choice: Any, tool_names: set[str]) -> None:
    if tool_choice is None:
        return
    if not isinstance(tool_choice, dict):
        raise invalid("tool_choice: Input should be a valid dictionary")
    kind = tool_choice.get("type")
    if kind not in ("auto", "any", "tool", "none"):
        raise invalid(
            f"tool_choice.type: Input tag {kind!r} found using 'type' does not match any of the expected "
            "tags: 'auto', 'any', 'tool', 'none'"
        )
    if kind == "tool":
        name = tool_choice.get("name")
        if not isinstance(name, str):
            raise invalid("tool_choice.name: Field required")
        if name not in tool_names:
            raise invalid(f"tool_choice.name: tool {name!r} is not defined in tools")


def _validate_thinking_config(thinking: Any, max_tokens: Any, count_tokens: bool) -> None:
    if thinking is None:
        return
    if not isinstance(thinking, dict):
        raise invalid("thinking: Input should be a valid dictionary")
    kind = thinking.get("type")
    if kind not in THINKING_KEYS:
        raise invalid(
            f"thinking.type: Input tag {kind!r} found using 'type' does not match any of the expected "
            "tags: 'adaptive', 'between_tools', 'disabled', 'enabled'"
        )
    for key in thinking:
        if key not in THINKING_KEYS[kind]:
            raise invalid(f"thinking.{kind}.{key}: Extra inputs are not permitted")
    if thinking.get("display") is not None and thinking["display"] not in ("summarized", "omitted"):
        raise invalid(f"thinking.{kind}.display: Input should be 'summarized' or 'omitted'")
    if kind == "enabled":
        budget = thinking.get("budget_tokens")
        if not isinstance(budget, int) or isinstance(budget, bool):
            raise invalid("thinking.enabled.budget_tokens: Field required")
        if budget < 1024:
            raise invalid("thinking.enabled.budget_tokens: Input should be greater than or equal to 1024")
        if not count_tokens and _is_int(max_tokens) and budget >= max_tokens:
            raise invalid("`max_tokens` must be greater than `thinking.budget_tokens`")


def _blocks(message: dict, where: str) -> list[Any]:
    content = message.get("content")
    if "content" not in message:
        raise invalid(f"{where}.content: Field required")
    if isinstance(content, str):
        return [{"type": "text", "text": content}]
    if not isinstance(content, list):
        raise invalid(f"{where}.content: Input should be a valid string or a list of content blocks")
    return content


def _validate_keys(block: dict, where: str) -> None:
    kind = block.get("type")
    for key in block:
        if key not in BLOCK_KEYS.get(str(kind), ()):
            raise invalid(f"{where}.{kind}.{key}: Extra inputs are not permitted")


def _validate_text(block: dict, where: str) -> None:
    text = block.get("text")
    if not isinstance(text, str):
        raise invalid(f"{where}.text: Field required")
    if not text:
        raise invalid(f"{where}: text content blocks must be non-empty")
    if not text.strip():
        raise invalid(f"{where}: text content blocks must contain non-whitespace text")


def _validate_messages(messages: Any, present: bool, tool_names: set[str], paused: Paused | None) -> int:
    """Validate the conversation; return how many cache breakpoints it holds."""
    if not present:
        raise invalid("messages: Field required")
    if not isinstance(messages, list):
        raise invalid("messages: Input should be a valid list")
    if not messages:
        raise invalid("messages: at least one message is required")

    breakpoints = 0
    seen_tool_use_ids: set[str] = set()
    pending_tool_uses: list[str] = []  # ids of the previous assistant message, to be answered now
    previous_role = None
    for m, message in enumerate(messages):
        where = f"messages.{m}"
        if not isinstance(message, dict):
            raise invalid(f"{where}: Input should be a valid dictionary")
        role = message.get("role")
        if role not in ("user", "assistant"):
            raise invalid(f"{where}.role: Input should be 'user' or 'assistant'")
        if m == 0 and role != "user":
            raise invalid('messages: first message must use the "user" role')
        if role == previous_role:
            raise invalid(
                f'messages: roles must alternate between "user" and "assistant", but found multiple "{role}" '
                f"roles in a row (at {where})"
            )
        blocks = _blocks(message, where)
        if not blocks:
            raise invalid(f"{where}: all messages must have non-empty content")
        allowed = USER_BLOCK_TYPES if role == "user" else ASSISTANT_BLOCK_TYPES
        answered: list[str] = []
        tool_uses: list[str] = []
        for b, block in enumerate(blocks):
            bwhere = f"{where}.content.{b}"
            if not isinstance(block, dict):
                raise invalid(f"{bwhere}: Input should be a valid dictionary")
            kind = block.get("type")
            if kind not in allowed:
                expected = ", ".join(f"'{t}'" for t in allowed)
                raise invalid(
                    f"{bwhere}.type: Input tag {kind!r} found using 'type' does not match any of the "
                    f"expected tags for a {role} message: {expected}"
                )
            _validate_keys(block, bwhere)
            if block.get("cache_control") is not None:
                _validate_cache_control(block["cache_control"], f"{bwhere}.cache_control")
                breakpoints += 1
            if kind == "text":
                _validate_text(block, bwhere)
            elif kind == "thinking":
                if not isinstance(block.get("thinking"), str) or not isinstance(block.get("signature"), str):
                    raise invalid(f"{bwhere}: thinking blocks need `thinking` and `signature` strings")
                if verify_thinking(block["thinking"], block["signature"]) is None:
                    raise invalid(
                        f"{bwhere}: Invalid `signature` in `thinking` block (thinking blocks must be sent "
                        "back exactly as they were received)"
                    )
            elif kind == "redacted_thinking":
                # The simulator never emits redacted thinking, so no `data` can be genuine.
                raise invalid(f"{bwhere}: Invalid `data` in `redacted_thinking` block")
            elif kind == "tool_use":
                tool_use_id = block.get("id")
                if not isinstance(tool_use_id, str) or not TOOL_USE_ID_RE.match(tool_use_id):
                    raise invalid(f"{bwhere}.id: String should match pattern '{TOOL_USE_ID_RE.pattern}'")
                if tool_use_id in seen_tool_use_ids:
                    raise invalid(f"{bwhere}: `tool_use` ids must be unique (duplicate: {tool_use_id})")
                seen_tool_use_ids.add(tool_use_id)
                if not isinstance(block.get("name"), str) or not block["name"]:
                    raise invalid(f"{bwhere}.name: Field required")
                if not isinstance(block.get("input"), dict):
                    raise invalid(f"{bwhere}.input: Input should be a valid dictionary")
                tool_uses.append(tool_use_id)
            elif kind == "tool_result":
                _validate_tool_result(block, bwhere)
                tool_use_id = block["tool_use_id"]
                if tool_use_id not in pending_tool_uses:
                    raise invalid(
                        f"{bwhere}: unexpected `tool_use_id` found in `tool_result` blocks: {tool_use_id}. "
                        "Each `tool_result` block must have a corresponding `tool_use` block in the previous "
                        "message."
                    )
                if tool_use_id in answered:
                    raise invalid(f"{bwhere}: duplicate `tool_result` for tool_use_id {tool_use_id}")
                answered.append(tool_use_id)
        if role == "user":
            missing = [tool_use_id for tool_use_id in pending_tool_uses if tool_use_id not in answered]
            if missing:
                raise invalid(
                    f"messages.{m - 1}: `tool_use` ids were found without `tool_result` blocks immediately "
                    f"after: {', '.join(missing)}. Each `tool_use` block must have a corresponding "
                    "`tool_result` block in the next message."
                )
            pending_tool_uses = []
        else:
            if tool_uses and not tool_names:
                raise invalid("Requests which include `tool_use` or `tool_result` blocks must define tools.")
            pending_tool_uses = tool_uses
            is_paused = paused is not None and paused(messages[:m], blocks)
            if is_paused and m != len(messages) - 1:
                # https://platform.claude.com/docs/en/build-with-claude/handling-stop-reasons (pause_turn:
                # "Send the assistant content back to continue"): the paused turn goes back last, as it
                # came, to be continued. Answered with a user message instead, it is refused (our words).
                raise invalid(
                    f"{where}: this assistant turn stopped with stop_reason pause_turn; send it back "
                    "unchanged as the last message to continue it, with nothing after it"
                )
            if m == len(messages) - 1 and not is_paused:
                # Current models refuse assistant prefill; the simulator refuses it for every model.
                raise invalid(
                    "This model does not support assistant message prefill. The conversation must end "
                    "with a user message."
                )
        previous_role = role
    return breakpoints


def _validate_tool_result(block: dict, where: str) -> None:
    if not isinstance(block.get("tool_use_id"), str):
        raise invalid(f"{where}.tool_use_id: Field required")
    if "is_error" in block and not isinstance(block["is_error"], bool):
        raise invalid(f"{where}.is_error: Input should be a valid boolean")
    content = block.get("content")
    if content is not None and not isinstance(content, str | list):
        raise invalid(f"{where}.content: Input should be a valid string or a list of content blocks")
    if content is None or content == [] or (isinstance(content, str) and not content.strip()):
        if block.get("is_error"):
            # The real API refuses an error result without content (issue 7; the handle-tool-calls page,
            # https://platform.claude.com/docs/en/agents-and-tools/tool-use/handle-tool-calls, asks for
            # an error message in it).
            raise invalid(f"{where}: content cannot be empty if `is_error` is true")
        # Stricter than the API: an empty result of any kind has broken clients and reads as "no
        # answer" to a model; erkweb never sends one (an empty file reads "(empty file: 0 bytes)").
        raise invalid(f"{where}: tool_result content must not be empty")
    if isinstance(content, str):
        return
    for i, item in enumerate(content):
        iwhere = f"{where}.content.{i}"
        if not isinstance(item, dict) or item.get("type") not in TOOL_RESULT_CONTENT_TYPES:
            kind = item.get("type") if isinstance(item, dict) else None
            expected = ", ".join(f"'{t}'" for t in TOOL_RESULT_CONTENT_TYPES)
            raise invalid(
                f"{iwhere}.type: Input tag {kind!r} found using 'type' does not match any of the expected "
                f"tags: {expected}"
            )
        _validate_keys(item, iwhere)
        if item["type"] == "text":
            _validate_text(item, iwhere)
