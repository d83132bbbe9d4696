"""What a request may ask of its model: the model must exist, and its limits, thinking and effort settings
must be ones that model accepts (erkweb/published_models.py holds what Anthropic publishes per model).

validation.py checks the shape of a request first; these checks need the model, so they come after.
"""

from __future__ import annotations

from typing import Any

from erkweb import published_models
from erkweb.published_models import EFFORT_LEVELS, PublishedModel

from . import tokens
from .validation import SimulatorError, invalid

# https://platform.claude.com/docs/en/models/opus-5-5/whats-new-opus-5-5: "forced tool use returns an
# error" on Opus 5.5, "the first three [breaking changes] also apply on Claude Fable 5.1"; and on Sonnet
# 5.5 (its overview's breaking changes). Mythos 5.1 shares Fable 5.1's behaviour.
FORCED_TOOL_CHOICE_REFUSED = frozenset(
    {"claude-sonnet-5-5", "claude-opus-5-5", "claude-fable-5-1", "claude-mythos-5-1"}
)


def known_model(body: dict) -> PublishedModel:
    """The published model the request names; 404 not_found_error for any other id, as the real API
    answers (https://platform.claude.com/docs/en/api/errors: 404 not_found_error)."""
    model = published_models.get(str(body.get("model")))
    if model is None:
        raise SimulatorError(404, "not_found_error", f"model: {body.get('model')}")
    return model


def check_request(body: dict, model: PublishedModel, *, count_tokens: bool) -> None:
    if not count_tokens:
        max_tokens = body["max_tokens"]
        if max_tokens > model.max_output:
            raise invalid(
                f"max_tokens: {max_tokens} > {model.max_output}, which is the maximum allowed number of "
                f"output tokens for {model.id}"
            )
    effort = _effort(body.get("output_config"), model)
    _check_thinking(body.get("thinking"), effort, model)
    tool_choice = body.get("tool_choice") or {}
    if tool_choice.get("type") in ("any", "tool") and model.id in FORCED_TOOL_CHOICE_REFUSED:
        raise invalid(
            f'tool_choice: forcing tool use (type "{tool_choice["type"]}") is not supported for {model.id}; '
            'use tool_choice {"type": "auto"}'
        )


def check_context(body: dict, model: PublishedModel) -> int:
    """The prompt's tokens; 400 when they do not fit the model's context window (the API's wording)."""
    prompt = tokens.count_request(body)
    if prompt > model.context_window:
        raise invalid(f"prompt is too long: {prompt} tokens > {model.context_window} maximum")
    return prompt


def _effort(output_config: Any, model: PublishedModel) -> str | None:
    if output_config is None:
        return None
    if not isinstance(output_config, dict):
        raise invalid("output_config: Input should be a valid dictionary")
    for key in output_config:
        if key not in ("effort", "format"):
            raise invalid(f"output_config.{key}: Extra inputs are not permitted")
    effort = output_config.get("effort")
    if effort is None:
        return None
    if effort not in EFFORT_LEVELS:
        expected = ", ".join(f"'{level}'" for level in EFFORT_LEVELS)
        raise invalid(f"output_config.effort: Input should be {expected}")
    if not model.effort:
        raise invalid(f"output_config.effort: the effort parameter is not supported for {model.id}")
    if effort not in model.effort:
        raise invalid(
            f'output_config.effort: "{effort}" is not supported for {model.id} '
            f"(supported: {', '.join(model.effort)})"
        )
    return effort


def _check_thinking(thinking: Any, effort: str | None, model: PublishedModel) -> None:
    if not isinstance(thinking, dict):
        return  # absent; a malformed value was refused by validation.py
    kind = thinking.get("type")
    if kind not in model.thinking:
        # The wording of the Opus 5.5 refusals (what's new in Opus 5.5); for a model without adaptive
        # thinking, the same shape.
        advice = (
            ' Use "thinking.type.adaptive" and "output_config.effort" to control thinking behavior.'
            if "adaptive" in model.thinking
            else ""
        )
        raise invalid(f'"thinking.type.{kind}" is not supported for this model.{advice}')
    limit = model.disabled_max_effort
    if kind == "disabled" and limit and effort and EFFORT_LEVELS.index(effort) > EFFORT_LEVELS.index(limit):
        # https://platform.claude.com/docs/en/build-with-claude/thinking: on Haiku 5.5 and Opus 5 thinking
        # can be disabled only at effort high or lower. The message is ours.
        raise invalid(
            f'"thinking.type.disabled" is supported on {model.id} only with "output_config.effort" '
            f'"{limit}" or lower, not "{effort}"'
        )
