"""Round-robin partition (specs/audit-scan.md, Phase 2)."""

import pytest

from runs.partition import round_robin


def test_batch_k_gets_every_nth_item_starting_at_k_minus_one():
    items = list("abcdefghij")
    assert round_robin(items, 3) == [["a", "d", "g", "j"], ["b", "e", "h"], ["c", "f", "i"]]


def test_one_agent_gets_everything_in_order():
    assert round_robin(["a", "b", "c"], 1) == [["a", "b", "c"]]


def test_fewer_items_than_agents_makes_one_batch_per_item():
    assert round_robin(["a", "b"], 5) == [["a"], ["b"]]


def test_as_many_items_as_agents():
    assert round_robin([1, 2, 3], 3) == [[1], [2], [3]]


def test_no_items_make_no_batches():
    assert round_robin([], 5) == []


@pytest.mark.parametrize("agents", [0, -1])
def test_at_least_one_agent_is_needed(agents):
    with pytest.raises(ValueError):
        round_robin(["a"], agents)


def test_every_item_lands_in_exactly_one_batch_and_sizes_differ_by_at_most_one():
    items = [f"doc-{n}.md" for n in range(103)]
    batches = round_robin(items, 7)
    assert len(batches) == 7
    assert sorted(item for batch in batches for item in batch) == sorted(items)
    sizes = [len(batch) for batch in batches]
    assert max(sizes) - min(sizes) <= 1
    assert sizes == sorted(sizes, reverse=True)


def test_batches_are_lists_even_for_a_tuple():
    assert round_robin(("a", "b", "c"), 2) == [["a", "c"], ["b"]]
