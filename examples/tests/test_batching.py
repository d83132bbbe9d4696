from __future__ import annotations

import pytest
from acme.batching import BatchResult, BatchRunner, partition_round_robin


def test_round_robin_order() -> None:
    items = ["a", "b", "c", "d", "e"]
    assert partition_round_robin(items, 2) == [["a", "c", "e"], ["b", "d"]]


def test_fewer_items_than_batches() -> None:
    assert partition_round_robin(["a", "b"], 5) == [["a"], ["b"]]


def test_zero_batches_rejected() -> None:
    with pytest.raises(ValueError):
        partition_round_robin(["a"], 0)


def test_runner_collects_failures() -> None:
    def work(number: int, batch: list[str]) -> BatchResult:
        return BatchResult(batch_number=number, ok=number != 2, reason="boom")

    runner = BatchRunner(work)
    results = runner.run(["a", "b", "c"], 3)
    assert [r.batch_number for r in runner.failed(results)] == [2]
