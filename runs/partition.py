"""Round-robin partition of a run's items into batches (specs/audit-scan.md, Phase 2)."""

from collections.abc import Sequence


def round_robin[T](items: Sequence[T], agents: int) -> list[list[T]]:
    """Batch k (counting from 1) gets items k-1, k-1+N, k-1+2N, ... in the given order.

    Dealing rather than slicing spreads neighbours in the sorted order (often docs of one folder, of
    similar size) over all batches. N is the number of agents, or of items when there are fewer, so no
    batch is ever empty.
    """
    if agents < 1:
        raise ValueError(f"agents must be at least 1, not {agents}")
    count = min(agents, len(items))
    return [list(items[start::count]) for start in range(count)]
