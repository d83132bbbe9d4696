"""The history pages' SVG geometry (runs/operations/audit_doc/charts.py), worked out by hand: a plot
HEIGHT 200 tall with TOP 12 and BOTTOM 28 leaves 160 units, the x axis at y = 172."""

import pytest

from runs.operations.audit_doc import charts
from runs.operations.audit_doc.charts import score_chart, tier_chart


def test_a_stacked_bar_gives_each_tier_its_share_of_the_height():
    chart = tier_chart([("a", {"HIGH": 2, "MODERATE": 4, "LOW": 6, "SKIP": 4})])
    assert chart is not None and chart.bottom == 172
    # 16 docs: the axis tops at 16 (a multiple of 4), 10 units a doc.
    assert [value for _y, value in chart.y_ticks] == [0, 4, 8, 12, 16]
    [bar] = chart.bars
    heights = {s.tier: s.height for s in bar.segments}
    assert heights == pytest.approx({"SKIP": 40, "LOW": 60, "MODERATE": 40, "HIGH": 20})
    ys = {s.tier: s.y for s in bar.segments}
    # Stacked from the axis up: SKIP at the bottom, HIGH at the top, touching at 12 (the plot's top).
    assert ys == pytest.approx({"SKIP": 132, "LOW": 72, "MODERATE": 32, "HIGH": 12})


def test_a_score_line_spans_the_plot():
    chart = score_chart([("d1", "r1: 3", 3), ("d2", "r2: 8", 8), ("d3", "r3: 0", 0)])
    assert chart is not None
    xs = [p.x for p in chart.points]
    assert xs == [charts.LEFT, (charts.LEFT + charts.WIDTH - charts.RIGHT) / 2, charts.WIDTH - charts.RIGHT]
    # The axis tops at 8: 20 units a point.
    assert [p.y for p in chart.points] == pytest.approx([172 - 60, 12, 172])
    assert chart.x_labels == ((xs[0], "d1"), (xs[-1], "d3"))
    assert score_chart([]) is None and tier_chart([]) is None
