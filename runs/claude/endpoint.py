"""Where a run's Claude models are reached, with which credentials, and the client that reaches them.

A run records its endpoint when it is created (``resolve_endpoint``): ``ANTHROPIC_BASE_URL`` when it is
set (asked once whether it is erkweb's simulator), the real API when a credential is set
(``ANTHROPIC_API_KEY``, or ``ANTHROPIC_AUTH_TOKEN``, which the SDK sends as a bearer token), and
otherwise the simulator at ``ERKWEB_SIMULATOR_URL``. Every batch of the run then uses that recorded
endpoint, whatever its worker's environment says (``endpoint_for_run``), so a run recorded as real
Claude is never played by the simulator, nor the reverse.

Credentials are read from the environment when a client is built and go nowhere else. A base URL can
carry some too (``https://user:secret@host``, ``?key=...``): only its redacted form is stored or shown,
and a worker uses the full URL from its own environment when that redacts to the recorded one.
"""

import json
import os
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from typing import Any

import anthropic
from django.conf import settings

from .conversation import AgentFailed

REAL_API_URL = "https://api.anthropic.com"
SIMULATOR_HEALTH_PATH = "/_simulator/health"
# Sent instead of a key to the simulator, which accepts any key; not a secret, and sent nowhere else.
SIMULATOR_PLACEHOLDER_KEY = "erkweb-simulator-no-key"
REDACTED = "[redacted]"


class EndpointUnavailable(AgentFailed):
    """This worker cannot reach the run's recorded endpoint (no credential for it, say)."""


def redact_url(url: str | None) -> str:
    """The URL without what could be a secret: user and password, and the values of its query."""
    if not url:
        return ""
    try:
        parts = urllib.parse.urlsplit(url)
        host = parts.hostname or ""
        port = parts.port
    except ValueError:
        return REDACTED
    netloc = host if ":" not in host else f"[{host}]"
    if port:
        netloc += f":{port}"
    if parts.username is not None or parts.password is not None:
        netloc = f"{REDACTED}@{netloc}"
    query = "&".join(
        f"{urllib.parse.quote(key)}={REDACTED}"
        for key, _ in urllib.parse.parse_qsl(parts.query, keep_blank_values=True)
    )
    return urllib.parse.urlunsplit((parts.scheme, netloc, parts.path.rstrip("/"), query, ""))


def env_base_url() -> str:
    return os.environ.get("ANTHROPIC_BASE_URL", "").strip().rstrip("/")


def credential() -> tuple[str, str] | None:
    """("api_key" | "auth_token", value) from the environment, the key first (as the SDK orders them)."""
    for variable, kind in (("ANTHROPIC_API_KEY", "api_key"), ("ANTHROPIC_AUTH_TOKEN", "auth_token")):
        value = os.environ.get(variable, "").strip()
        if value:
            return kind, value
    return None


def simulator_is_default() -> bool:
    """No base URL and no credential: Claude models are played by the simulator."""
    return not env_base_url() and credential() is None


@dataclass(frozen=True)
class Endpoint:
    url: str  # the full URL requests go to; never stored (it may carry credentials)
    simulator: bool

    @property
    def shown_url(self) -> str:
        return redact_url(self.url)

    @property
    def is_real_api(self) -> bool:
        return not self.simulator and redact_url(self.url) == REAL_API_URL

    def record(self) -> dict[str, Any]:
        """What a run stores about its endpoint (manifest and Run fields): redacted."""
        return {"api_base_url": self.shown_url, "simulator": self.simulator}


def simulator_health(base_url: str, timeout: float = 1.0) -> dict[str, Any] | None:
    """The simulator's health answer, or None when nothing (or something else) answers there."""
    url = base_url.rstrip("/") + SIMULATOR_HEALTH_PATH
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            body = json.loads(response.read().decode())
    except (OSError, ValueError, urllib.error.URLError):
        return None
    return body if isinstance(body, dict) and body.get("simulator") == "erkweb" else None


def resolve_endpoint() -> Endpoint:
    """Where Claude models are reached now, from the environment; asked when a run is created."""
    base_url = env_base_url()
    if base_url:
        return Endpoint(base_url, simulator=simulator_health(base_url) is not None)
    if credential() is not None:
        return Endpoint(REAL_API_URL, simulator=False)
    return Endpoint(settings.ERKWEB_SIMULATOR_URL.rstrip("/"), simulator=True)


def endpoint_for_run(recorded_url: str | None, simulator: bool) -> Endpoint:
    """The endpoint a run recorded, as this worker can reach it; EndpointUnavailable if it cannot."""
    if not recorded_url:
        raise EndpointUnavailable("the run recorded no API endpoint (it was created for local batches only)")
    url = recorded_url
    if REDACTED in recorded_url:
        # The recorded URL had credentials in it: only this worker's own environment can give them back.
        mine = env_base_url()
        if not mine or redact_url(mine) != recorded_url:
            raise EndpointUnavailable(
                f"the run's base URL {recorded_url} carries credentials, and this worker's "
                "ANTHROPIC_BASE_URL does not give them"
            )
        url = mine
    if not simulator and credential() is None:
        where = "the real API" if recorded_url == REAL_API_URL else "a base URL that is not the simulator"
        raise EndpointUnavailable(
            f"this run uses {where} ({recorded_url}) and this worker has no ANTHROPIC_API_KEY or "
            "ANTHROPIC_AUTH_TOKEN"
        )
    return Endpoint(url, simulator=simulator)


def make_client(endpoint: Endpoint, *, timeout: float = 60.0) -> anthropic.Anthropic:
    """An SDK client for the endpoint. Its own retries are off: erkweb's (retries.py) keep within a
    batch's time. The credential is passed explicitly, so the SDK consults no other (environment,
    profile files); the simulator gets the placeholder and nothing else does."""
    import anthropic

    if endpoint.simulator:
        kind, value = "api_key", SIMULATOR_PLACEHOLDER_KEY
    else:
        found = credential()
        if found is None:
            raise EndpointUnavailable(
                f"no ANTHROPIC_API_KEY or ANTHROPIC_AUTH_TOKEN for {endpoint.shown_url}"
            )
        kind, value = found
    if kind == "auth_token":
        return anthropic.Anthropic(auth_token=value, base_url=endpoint.url, max_retries=0, timeout=timeout)
    return anthropic.Anthropic(api_key=value, base_url=endpoint.url, max_retries=0, timeout=timeout)
