"""Split work into batches and run them."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass


def partition_round_robin(items: Sequence[str], n: int) -> list[list[str]]:
    """Item i goes to batch i % n. Never returns an empty batch."""
    if n < 1:
        raise ValueError("n must be >= 1")
    n = min(n, len(items)) or 1
    batches: list[list[str]] = [[] for _ in range(n)]
    for index, item in enumerate(items):
        batches[index % n].append(item)
    return [batch for batch in batches if batch]


@dataclass(frozen=True)
class BatchResult:
    batch_number: int
    ok: bool
    reason: str | None = None


class BatchRunner:
    """Runs one callable per batch and collects results in batch order."""

    def __init__(self, work: Callable[[int, list[str]], BatchResult]) -> None:
        self._work = work

    def run(self, items: Sequence[str], n: int) -> list[BatchResult]:
        results: list[BatchResult] = []
        for number, batch in enumerate(partition_round_robin(items, n), start=1):
            results.append(self._work(number, batch))
        return results

    def failed(self, results: list[BatchResult]) -> list[BatchResult]:
        return [result for result in results if not result.ok]
