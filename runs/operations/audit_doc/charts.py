"""The history pages' charts, as SVG geometry computed here and drawn by the templates: no JavaScript,
and colours from the stylesheet (classes, never inline styles: the CSP forbids them), so they read in the
page's own colours. Pure: labels and numbers in, coordinates out, rounded to a tenth of a unit so that
the templates print them as they are (a chart of a hundred scans is a few hundred numbers)."""

from collections.abc import Sequence
from dataclasses import dataclass, replace

from runs.operations.audit_scan.scoring import TIERS

WIDTH, HEIGHT = 640, 200
LEFT, RIGHT, TOP, BOTTOM = 40, 12, 12, 28  # room for the axis labels
TICKS = 4


@dataclass(frozen=True)
class Point:
    x: float
    y: float
    label: str  # what the point's title says (a run and its value)


@dataclass(frozen=True)
class Segment:
    tier: str
    y: float
    height: float
    count: int


@dataclass(frozen=True)
class Bar:
    x: float
    width: float
    label: str
    segments: tuple[Segment, ...]


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    left: int
    bottom: float  # the x axis's y
    right: int  # the plot's right edge's x
    y_ticks: tuple[tuple[float, int], ...]  # (y, value)
    x_labels: tuple[tuple[float, str], ...]  # (x, label): first and last
    points: tuple[Point, ...] = ()
    bars: tuple[Bar, ...] = ()

    @property
    def polyline(self) -> str:
        return " ".join(f"{p.x:.1f},{p.y:.1f}" for p in self.points)


def _nice_top(value: int) -> int:
    """The axis's top: ``value`` rounded up to a multiple of TICKS (at least TICKS), so ticks are whole."""
    return max(TICKS, -(-value // TICKS) * TICKS)


def _frame(top: int, labels: Sequence[str], xs: Sequence[float]) -> Chart:
    """The axes: ticks on the y axis, the first and last labels under the x axis."""
    plot = HEIGHT - TOP - BOTTOM
    ticks = tuple((round(TOP + plot - plot * k / TICKS, 1), top * k // TICKS) for k in range(TICKS + 1))
    ends = (
        [(xs[0], labels[0]), (xs[-1], labels[-1])] if len(labels) > 1 else list(zip(xs, labels, strict=True))
    )
    return Chart(WIDTH, HEIGHT, LEFT, TOP + plot, WIDTH - RIGHT, ticks, tuple(ends))


def _y(value: int, top: int) -> float:
    plot = HEIGHT - TOP - BOTTOM
    return TOP + plot - plot * value / top


def score_chart(values: Sequence[tuple[str, str, int]]) -> Chart | None:
    """A line of ``(x label, point title, score)``, oldest first; None with nothing to draw."""
    if not values:
        return None
    top = _nice_top(max(score for _l, _t, score in values))
    span = WIDTH - LEFT - RIGHT
    xs = [LEFT + (span * i / (len(values) - 1) if len(values) > 1 else span / 2) for i in range(len(values))]
    points = tuple(
        Point(round(x, 1), round(_y(score, top), 1), title)
        for x, (_l, title, score) in zip(xs, values, strict=True)
    )
    return replace(_frame(top, [label for label, _t, _s in values], xs), points=points)


def tier_chart(scans: Sequence[tuple[str, dict[str, int]]]) -> Chart | None:
    """Stacked bars of each scan's docs per tier (HIGH at the top of each bar), oldest first."""
    if not scans:
        return None
    top = _nice_top(max(sum(counts.get(t, 0) for t in TIERS) for _l, counts in scans))
    span = WIDTH - LEFT - RIGHT
    slot = span / len(scans)
    width = max(1.0, min(32.0, slot * 0.7))
    bars = []
    for i, (label, counts) in enumerate(scans):
        x = LEFT + slot * i + (slot - width) / 2
        base = _y(0, top)
        segments = []
        for tier in reversed(TIERS):  # SKIP at the bottom, HIGH on top
            count = counts.get(tier, 0)
            height = _y(0, top) - _y(count, top)  # count's share of the plot's height
            segments.append(Segment(tier, round(base - height, 1), round(height, 1), count))
            base -= height
        bars.append(Bar(round(x, 1), round(width, 1), label, tuple(segments)))
    xs = [bar.x + bar.width / 2 for bar in bars]
    return replace(_frame(top, [label for label, _c in scans], xs), bars=tuple(bars))
