"""Prompt caching, modelled on the real API's rules closely enough for the cost figures to mean something.

A request is flattened into ordered segments: each tool definition, then each system block, then each
message content block. A segment carrying `cache_control` is a breakpoint (so is the last segment when
the request has a top-level `cache_control`, the API's automatic caching). For a breakpoint, the prefix
of segments up to and including it is identified by a sha256 of their canonical JSON and the model.

On each request (`plan`, when the request arrives):
- the cache is searched for the longest prefix that ends at a breakpoint or at one of the 20 block
  boundaries before a breakpoint (the real API looks back about 20 blocks, which is what makes
  "move the breakpoint to the last message every turn" read the previous turn from the cache);
  that prefix's tokens are `cache_read_input_tokens`, and a hit refreshes its time to live;
- every breakpoint prefix will be stored; the tokens from the end of the hit up to the last breakpoint
  are `cache_creation_input_tokens`, split by time to live in `cache_creation`;
- the tokens after the last breakpoint are `input_tokens`.

The plan is carried out (`commit`: the hit refreshed, the breakpoints stored) when the response starts,
when its first byte goes out, not when the request arrived: the real API makes a cache entry readable only
once the response that wrote it has begun, so requests that arrive together (the first turns of a run's
batches) each pay the write (https://platform.claude.com/docs/en/build-with-claude/prompt-caching: a
cache entry is available only once the first response has begun; parallel requests sent before then miss).

A Message Batch's requests all arrive when the batch is created (message_batches.py): each of them reads
only what was written before then (`plan(body, as_of=created)`), even when it is processed later, and
what it writes is readable from the moment it is processed, to later batches and to /v1/messages. So
two requests of one batch never share a write, as two concurrent /v1/messages requests never do (the
strict choice: the batch processing page calls cache hits in batches "best-effort").

`cache_control` markers themselves are not part of the hashed content: moving a breakpoint must not
change the identity of the text in front of it.

A breakpoint whose prefix is shorter than the model's minimum cacheable prompt length
(erkweb/published_models.py, from the "Cache limitations" of the prompt caching page) is ignored, as the
real API ignores it: no cache entry, no write billed, nothing to read later; its tokens are plain input.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from erkweb import published_models

from . import tokens

TTL_SECONDS = {"5m": 5 * 60, "1h": 60 * 60}
LOOKBACK_BLOCKS = 20
MAX_ENTRIES = 200_000


@dataclass(frozen=True)
class Segment:
    content: Any  # canonical content (no cache_control), hashed
    tokens: int
    ttl: str | None  # "5m" or "1h" when this segment is a breakpoint, else None


@dataclass(frozen=True)
class CacheUsage:
    input_tokens: int
    cache_creation_input_tokens: int
    cache_read_input_tokens: int
    ephemeral_5m_input_tokens: int
    ephemeral_1h_input_tokens: int

    @property
    def prompt_tokens(self) -> int:
        return self.input_tokens + self.cache_creation_input_tokens + self.cache_read_input_tokens

    def as_usage(self) -> dict:
        return {
            "input_tokens": self.input_tokens,
            "cache_creation_input_tokens": self.cache_creation_input_tokens,
            "cache_read_input_tokens": self.cache_read_input_tokens,
            "cache_creation": {
                "ephemeral_5m_input_tokens": self.ephemeral_5m_input_tokens,
                "ephemeral_1h_input_tokens": self.ephemeral_1h_input_tokens,
            },
        }


def _strip(block: Any) -> Any:
    if isinstance(block, dict):
        return {k: v for k, v in block.items() if k != "cache_control"}
    return block


def _ttl(cache_control: Any) -> str | None:
    if not isinstance(cache_control, dict):
        return None
    return cache_control.get("ttl") or "5m"


def segments(body: dict) -> list[Segment]:
    """The request, flattened in the order the API caches it: tools, system, messages."""
    result: list[Segment] = []
    for tool in body.get("tools") or []:
        result.append(
            Segment({"tool": _strip(tool)}, tokens.count_tool(tool), _ttl(tool.get("cache_control")))
        )
    for block in tokens.system_blocks(body.get("system")):
        result.append(
            Segment({"system": _strip(block)}, tokens.count_block(block), _ttl(block.get("cache_control")))
        )
    for message in body.get("messages") or []:
        role = message.get("role")
        for block in tokens.message_blocks(message):
            cache_control = block.get("cache_control") if isinstance(block, dict) else None
            result.append(Segment({role: _strip(block)}, tokens.count_block(block), _ttl(cache_control)))
    top_level = _ttl(body.get("cache_control"))
    if top_level and result and result[-1].ttl is None:
        last = result[-1]
        result[-1] = Segment(last.content, last.tokens, top_level)
    return result


def prefix_hashes(model: str, segs: list[Segment]) -> list[str]:
    """hashes[i] identifies segments[0..i] for this model."""
    hasher = hashlib.sha256(json.dumps({"model": model}, sort_keys=True).encode())
    hashes = []
    for seg in segs:
        hasher.update(b"\x1e")
        hasher.update(
            json.dumps(seg.content, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
        )
        hashes.append(hasher.copy().hexdigest())
    return hashes


@dataclass(frozen=True)
class CachePlan:
    """What one request reads and writes: its usage, the entry it hit, the entries it stores."""

    usage: CacheUsage
    hit: str | None  # hash of the prefix read from the cache
    writes: tuple[tuple[str, int], ...]  # (hash, ttl seconds) of each breakpoint to store


def min_cacheable_tokens(model: str) -> int:
    published = published_models.get(model)
    return published.min_cacheable_tokens if published else 0


class PromptCache:
    """Thread-safe store of cached prefixes (hash -> expiry time), one namespace per model via the hash."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        # hash -> (expires at, ttl seconds, written at): the time of the write that made it live, kept
        # through refreshes, so that a batch's requests can tell what was readable when the batch arrived.
        self._entries: dict[str, tuple[float, int, float]] = {}

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)

    def peek(self, body: dict) -> CacheUsage:
        """The accounting this request would get now, without reading or writing the cache."""
        return self.plan(body).usage

    def account(self, body: dict) -> CacheUsage:
        """Do the cache reads and writes of this request at once and return its usage figures."""
        plan = self.plan(body)
        self.commit(plan)
        return plan.usage

    def plan(self, body: dict, as_of: float | None = None) -> CachePlan:
        """What this request reads, given the entries readable now (and written before `as_of`, when
        given), and what it will write."""
        segs = segments(body)
        total = sum(seg.tokens for seg in segs)
        cumulative = []
        running = 0
        for seg in segs:
            running += seg.tokens
            cumulative.append(running)
        model = str(body.get("model"))
        minimum = min_cacheable_tokens(model)
        breakpoints = [i for i, seg in enumerate(segs) if seg.ttl and cumulative[i] >= minimum]
        if not breakpoints:
            return CachePlan(CacheUsage(total, 0, 0, 0, 0), None, ())
        hashes = prefix_hashes(model, segs)
        candidates = sorted(
            {j for bp in breakpoints for j in range(max(0, bp - LOOKBACK_BLOCKS), bp + 1)}, reverse=True
        )
        last = breakpoints[-1]

        with self._lock:
            now = self._clock()
            hit = -1
            for j in candidates:
                entry = self._entries.get(hashes[j])
                if entry and entry[0] > now and (as_of is None or entry[2] < as_of):
                    hit = j
                    break

        read = cumulative[hit] if hit >= 0 else 0
        created = cumulative[last] - read  # the hit never ends after the last breakpoint
        # Split the written tokens by the time to live of the breakpoint that ends each stretch.
        one_hour = 0
        start = hit + 1
        for bp in breakpoints:
            if bp < start:
                continue
            stretch = cumulative[bp] - (cumulative[start - 1] if start > 0 else 0)
            if segs[bp].ttl == "1h":
                one_hour += stretch
            start = bp + 1
        usage = CacheUsage(
            input_tokens=total - cumulative[last],
            cache_creation_input_tokens=created,
            cache_read_input_tokens=read,
            ephemeral_5m_input_tokens=created - one_hour,
            ephemeral_1h_input_tokens=one_hour,
        )
        writes = tuple((hashes[bp], TTL_SECONDS[segs[bp].ttl or "5m"]) for bp in breakpoints)
        return CachePlan(usage, hashes[hit] if hit >= 0 else None, writes)

    def commit(self, plan: CachePlan) -> None:
        """The response has started: refresh what it read, make what it wrote readable."""
        with self._lock:
            now = self._clock()
            if plan.hit is not None and plan.hit in self._entries:
                _expires, ttl, written = self._entries[plan.hit]
                self._entries[plan.hit] = (now + ttl, ttl, written)
            for key, ttl in plan.writes:
                previous = self._entries.get(key)
                written = now
                if previous and previous[0] > now:
                    ttl = max(ttl, previous[1])
                    written = previous[2]
                self._entries[key] = (now + ttl, ttl, written)
            if len(self._entries) > MAX_ENTRIES:
                self._evict(now)

    def _evict(self, now: float) -> None:
        for key in [k for k, (expires, _ttl, _written) in self._entries.items() if expires <= now]:
            del self._entries[key]
        if len(self._entries) > MAX_ENTRIES:
            # Still too many live entries: drop the ones closest to expiry.
            for key, _ in sorted(self._entries.items(), key=lambda kv: kv[1][0])[: len(self._entries) // 10]:
                del self._entries[key]
