"""Before a run exists: can its endpoint be reached, with this key, for these models? And token counts.

A bad key or model id would otherwise become a 401 or a 404 in every batch once the run exists. Against
the real API (or any base URL that is not erkweb's simulator) the key and each distinct model are
checked once with the Models API (``GET /v1/models/{model_id}``:
https://platform.claude.com/docs/en/api/models/retrieve), and a refusal is one clear line:

- 401: the key was refused;  403: the key may not use the model;
- 404: the model id is not available there (confirmed with ``count_tokens``, for a server that has no
  Models API);
- no connection: the endpoint cannot be reached.

A check that passed is remembered for a few minutes in this process, so a form previewed as it is typed
does not ask again. Other failures (429, 5xx) do not stop the run: its batches retry them.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import anthropic

from ..errors import InputError
from .endpoint import Endpoint, credential, env_base_url, make_client, resolve_endpoint, simulator_health

if TYPE_CHECKING:
    from ..model_choice import Executor

log = logging.getLogger(__name__)

PREFLIGHT_TIMEOUT_S = 15.0
REMEMBER_S = 300.0
_passed: dict[tuple[str, str, str], float] = {}
_lock = threading.Lock()


def _key(endpoint: Endpoint, model_id: str) -> tuple[str, str, str]:
    found = credential()
    # A digest, never the credential itself: this process only needs to tell one key from another.
    fingerprint = hashlib.sha256(f"{found}".encode()).hexdigest() if found else ""
    return endpoint.url, fingerprint, model_id


def _error_line(exc: anthropic.APIStatusError) -> str:
    body = exc.body if isinstance(exc.body, dict) else {}
    found = body.get("error")
    error: dict[str, Any] = found if isinstance(found, dict) else {}
    message = " ".join(str(error.get("message") or "").split())[:200]
    return f"{exc.status_code} {error.get('type') or 'error'}" + (f": {message}" if message else "")


def endpoint_for_new_run(executors: Iterable[Executor]) -> Endpoint | None:
    """Where a run about to be created reaches its Claude models, once checked; None when every stage is
    local. InputError, with one line, when they cannot be reached."""
    model_ids = [executor.model_id for executor in executors if not executor.is_local]
    if not model_ids:
        return None
    endpoint = resolve_endpoint()
    if endpoint.simulator:
        if not env_base_url() and simulator_health(endpoint.url) is None:
            raise InputError(
                f"no API key is set and no simulator answers at {endpoint.shown_url}: start it with "
                "`python manage.py simulator` (or `make run`), or set ANTHROPIC_API_KEY",
                field="model",
            )
        return endpoint
    if credential() is None:
        raise InputError(
            f"nothing answers as erkweb's simulator at {endpoint.shown_url}, and no ANTHROPIC_API_KEY or "
            "ANTHROPIC_AUTH_TOKEN is set for it",
            field="model",
        )
    preflight(endpoint, model_ids)
    return endpoint


def preflight(endpoint: Endpoint, model_ids: Iterable[str | None]) -> None:
    """Check the endpoint's credential and every model id once; InputError (field ``model``) if refused."""
    if endpoint.simulator:
        return
    ids = [model_id for model_id in dict.fromkeys(model_ids) if model_id]
    now = time.monotonic()
    with _lock:
        todo = [model_id for model_id in ids if _passed.get(_key(endpoint, model_id), 0) < now]
    if not todo:
        return
    where = endpoint.shown_url
    if credential() is None:
        raise InputError(
            f"{where} needs a credential: set ANTHROPIC_API_KEY (or ANTHROPIC_AUTH_TOKEN)", field="model"
        )
    client = make_client(endpoint, timeout=PREFLIGHT_TIMEOUT_S)
    for model_id in todo:
        try:
            _check_model(client, model_id)
        except anthropic.AuthenticationError as exc:
            raise InputError(
                f"{where} refused the key ({_error_line(exc)}): check ANTHROPIC_API_KEY "
                "or ANTHROPIC_AUTH_TOKEN",
                field="model",
            ) from None
        except anthropic.PermissionDeniedError as exc:
            raise InputError(
                f"the key may not use {model_id} at {where} ({_error_line(exc)})", field="model"
            ) from None
        except anthropic.NotFoundError as exc:
            raise InputError(
                f"the model id {model_id!r} is not available at {where} ({_error_line(exc)})", field="model"
            ) from None
        except anthropic.APIConnectionError as exc:
            reason = "timed out" if isinstance(exc, anthropic.APITimeoutError) else "connection failed"
            raise InputError(f"cannot reach {where} ({reason})", field="model") from None
        except anthropic.APIStatusError as exc:
            # Busy or failing right now: the run's batches retry that, so it does not stop the run.
            log.warning("preflight of %s at %s: %s; going on", model_id, where, _error_line(exc))
            continue
        with _lock:
            _passed[_key(endpoint, model_id)] = time.monotonic() + REMEMBER_S


def _check_model(client: anthropic.Anthropic, model_id: str) -> None:
    try:
        client.models.retrieve(model_id)
    except anthropic.NotFoundError:
        # A 404 from a server without the Models API would say nothing about the model: ask the
        # Messages API itself (count_tokens is free), which answers 404 for an unknown model too.
        client.messages.count_tokens(model=model_id, messages=[{"role": "user", "content": "ping"}])


def forget() -> None:
    """Forget the checks that passed (tests)."""
    with _lock:
        _passed.clear()


class TokenCounter:
    """Counts tokens with the endpoint's ``count_tokens`` (https://platform.claude.com/docs/en/build-with-claude/token-counting),
    remembering each count for the life of the counter."""

    label = "counted by the API"

    def __init__(self, client: anthropic.Anthropic) -> None:
        self.client = client
        self._counts: dict[tuple[str, str, str, str], int] = {}

    def count(
        self, model_id: str, *, messages: list[dict[str, Any]], system: object = None, tools: object = None
    ) -> int:
        key = (model_id, repr(system), repr(tools), repr(messages))
        if key not in self._counts:
            params: dict[str, Any] = {"model": model_id, "messages": messages}
            if system:
                params["system"] = system
            if tools:
                params["tools"] = tools
            self._counts[key] = int(self.client.messages.count_tokens(**params).input_tokens)
        return self._counts[key]
