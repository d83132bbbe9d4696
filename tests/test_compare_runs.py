"""compare_runs and comparison_json over Run, Batch and ItemResult rows built by small factories."""

import json
import math
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from runs.compare import CompareError, compare_runs, comparison_json, comparison_text
from runs.models import Batch, ItemResult, Run, RunStatus
from runs.operations.audit_scan.scoring import TIERS, score, tier_for
from runs.operations.audit_scan.signals import SIGNAL_KEYS

from .factories import record as signals

pytestmark = pytest.mark.django_db

AS_OF = date(2026, 11, 28)
COMPARED = list(SIGNAL_KEYS[1:])  # every signal but path
NUMERIC = [
    "lines",
    "code_blocks",
    "file_path_refs",
    "broken_paths",
    "import_count",
    "behavioral_claims",
    "step_sequences",
    "line_number_refs",
    "symbol_refs",
]
EXACT = ["last_audited", "audit_result", "has_redirect"]
MODEL_IDS = {"local": "local", "haiku": "claude-haiku-4-5", "sonnet": "claude-sonnet-4-5"}


def make_run(run_id: str, *, model="haiku", operation="audit-scan", **fields) -> Run:
    return Run.objects.create(
        run_id=run_id,
        operation=operation,
        model=model,
        model_id=MODEL_IDS.get(model, model),
        agents=1,
        **fields,
    )


def add_items(run: Run, docs: list[dict]) -> Run:
    """One batch holding ``docs``, each scored and tiered by the audit-scan rules, in the given order."""
    batch = Batch.objects.create(run=run, index=1, output_path="batch-1.md", model_id=run.model_id)
    for position, doc in enumerate(docs):
        points, _ = score(doc, AS_OF)
        ItemResult.objects.create(
            run=run,
            batch=batch,
            key=doc["path"],
            position=position,
            score=points,
            group=tier_for(points),
            data=doc,
        )
    return run


def run_with(run_id: str, docs: list[dict], **fields) -> Run:
    return add_items(make_run(run_id, **fields), docs)


# Scores with the default signals: never audited +3. See signals().
BASE_DOCS = [
    signals("a.md"),  # 3 LOW
    signals("b.md", import_count=1, lines=150),  # 3 + 1 + 1 = 5 LOW
    signals("c.md", lines=300, code_blocks=5, file_path_refs=6),  # 3 + 2 + 2 + 2 = 9 MODERATE
    signals("d.md", last_audited="2026-11-01", broken_paths=2, lines=250),  # 0 + 3 + 2 = 5 LOW
    signals("e.md", has_redirect=True),  # 3 - 2 = 1 SKIP
]


# --- identical runs --------------------------------------------------------------------------------
def test_identical_runs_agree_perfectly():
    run_with("audit-scan-a", BASE_DOCS, model="haiku")
    run_with("audit-scan-b", BASE_DOCS, model="sonnet")
    c = compare_runs("audit-scan-a", "audit-scan-b")
    assert c.operation == "audit-scan"
    assert c.tier_agreement == 1.0
    assert c.kappa == 1.0
    assert c.spearman == pytest.approx(1.0)
    assert list(c.signal_mad) == COMPARED
    for name in NUMERIC:
        assert c.signal_mad[name] == {"kind": "numeric", "mad": 0.0}
    for name in EXACT:
        assert c.signal_mad[name] == {"kind": "exact", "mismatch": 0.0}
    assert c.disagreements == []
    assert all(row.differing == () and row.score_gap == 0 and row.tier_gap == 0 for row in c.common)
    assert c.only_a == c.only_b == []
    # Neither side is local: no ground truth, no accuracy.
    assert c.ground_truth is None and c.accuracy is None
    # With no disagreement at all the order is the key order.
    assert [row.key for row in c.common] == ["a.md", "b.md", "c.md", "d.md", "e.md"]
    assert c.confusion["LOW"]["LOW"] == 3
    assert c.confusion["MODERATE"]["MODERATE"] == 1
    assert c.confusion["SKIP"]["SKIP"] == 1
    assert sum(sum(row.values()) for row in c.confusion.values()) == 5


def test_a_run_compared_with_itself_agrees_perfectly():
    run_with("audit-scan-a", BASE_DOCS)
    c = compare_runs("audit-scan-a", "audit-scan-a")
    assert c.a.run == c.b.run
    assert len(c.common) == 5 and c.disagreements == []
    assert (c.tier_agreement, c.kappa) == (1.0, 1.0)


def test_items_are_loaded_with_one_query_per_run(django_assert_num_queries):
    run_with("audit-scan-a", BASE_DOCS)
    run_with("audit-scan-b", BASE_DOCS)
    # One for both runs, one per run for its items.
    with django_assert_num_queries(3):
        compare_runs("audit-scan-a", "audit-scan-b")


# --- runs that disagree ----------------------------------------------------------------------------
# a: every doc has the default signals (score 3, LOW) except e.md and f.md.
DOCS_A = [
    signals("a.md"),  # 3 LOW
    signals("b.md"),  # 3 LOW
    signals("c.md"),  # 3 LOW
    signals("d.md"),  # 3 LOW
    signals("e.md", lines=300, code_blocks=5, file_path_refs=6),  # 3 + 2 + 2 + 2 = 9 MODERATE
    signals("f.md", step_sequences=1),  # 3 + 1 = 4 LOW
]
DOCS_B = [
    signals("a.md", lines=250, code_blocks=4, broken_paths=1),  # 3 + 2 + 2 + 3 = 10 HIGH
    signals("b.md", import_count=2),  # 3 + 1 = 4 LOW
    signals("c.md", symbol_refs=3, behavioral_claims=1),  # 1 * 10 > 50 is false: 3 LOW
    signals("d.md", has_redirect=True),  # 3 - 2 = 1 SKIP
    signals("e.md", lines=300, code_blocks=5, file_path_refs=6),  # the same: 9 MODERATE
    signals("f.md", line_number_refs=1),  # 3 + 1 = 4 LOW
]


def test_rows_are_sorted_by_the_size_of_the_disagreement():
    run_with("audit-scan-a", DOCS_A)
    run_with("audit-scan-b", list(reversed(DOCS_B)), model="sonnet")
    c = compare_runs("audit-scan-a", "audit-scan-b")
    rows = {row.key: row for row in c.common}
    # (tier gap, score gap, differing signals)
    assert (rows["a.md"].tier_gap, rows["a.md"].score_gap) == (2, 7)  # LOW -> HIGH, 3 -> 10
    assert (rows["d.md"].tier_gap, rows["d.md"].score_gap) == (1, 2)  # LOW -> SKIP, 3 -> 1
    assert (rows["b.md"].tier_gap, rows["b.md"].score_gap) == (0, 1)
    assert (rows["c.md"].tier_gap, rows["c.md"].score_gap) == (0, 0)
    assert (rows["f.md"].tier_gap, rows["f.md"].score_gap) == (0, 0)
    # c.md and f.md tie on gaps and on their 2 differing signals: key order decides. e.md agrees.
    assert [row.key for row in c.common] == ["a.md", "d.md", "b.md", "c.md", "f.md", "e.md"]
    # Differing signals come in SIGNAL_KEYS order, whatever order the change was made in.
    assert rows["a.md"].differing == ("lines", "code_blocks", "broken_paths")
    assert rows["b.md"].differing == ("import_count",)
    assert rows["c.md"].differing == ("behavioral_claims", "symbol_refs")
    assert rows["d.md"].differing == ("has_redirect",)
    assert rows["f.md"].differing == ("step_sequences", "line_number_refs")
    assert rows["e.md"].differing == ()
    assert [row.key for row in c.disagreements] == ["a.md", "d.md", "b.md", "c.md", "f.md"]
    assert not rows["e.md"].disagrees
    # A signal that differs without changing the score still counts as a disagreement.
    assert rows["c.md"].disagrees and rows["c.md"].score_a == rows["c.md"].score_b
    assert rows["a.md"].signals_b["lines"] == 250 and rows["a.md"].signals_a["lines"] == 50
    assert rows["d.md"].differing_values == [("has_redirect", False, True)]
    assert rows["e.md"].differing_values == []


def test_agreement_metrics_of_runs_that_disagree():
    run_with("audit-scan-a", DOCS_A)
    run_with("audit-scan-b", DOCS_B, model="sonnet")
    c = compare_runs("audit-scan-a", "audit-scan-b")
    # Tiers, in key order a..f:  a: L L L L M L    b: H L L S M L
    # agree on b, c, e, f: 4/6
    assert c.tier_agreement == pytest.approx(4 / 6)
    # counts a: L 5, M 1; b: H 1, L 3, S 1, M 1
    # p_o = 4/6; p_e = (L 5*3 + M 1*1) / 36 = 16/36
    # kappa = (4/6 - 16/36) / (1 - 16/36) = (24 - 16) / (36 - 16) = 8/20 = 0.4
    assert c.kappa == pytest.approx(0.4)
    # Scores a: 3 3 3 3 9 4 -> ranks 2.5 2.5 2.5 2.5 6 5 (four 3s share ranks 1-4)
    # Scores b: 10 4 3 1 9 4 -> ranks 6 3.5 2 1 5 3.5 (two 4s share ranks 3-4)
    # means 3.5; dx = -1 -1 -1 -1 2.5 1.5; dy = 2.5 0 -1.5 -2.5 1.5 0
    # sum dx*dy = -2.5 + 0 + 1.5 + 2.5 + 3.75 + 0 = 5.25
    # sum dx^2 = 4 + 6.25 + 2.25 = 12.5; sum dy^2 = 6.25 + 2.25 + 6.25 + 2.25 = 17
    assert c.spearman == pytest.approx(5.25 / math.sqrt(12.5 * 17))
    mad = {name: metric.get("mad") for name, metric in c.signal_mad.items()}
    assert mad["lines"] == pytest.approx(200 / 6)  # a.md: |50 - 250|
    assert mad["code_blocks"] == pytest.approx(4 / 6)
    assert mad["file_path_refs"] == 0.0
    assert mad["broken_paths"] == pytest.approx(1 / 6)
    assert mad["import_count"] == pytest.approx(2 / 6)
    assert mad["behavioral_claims"] == pytest.approx(1 / 6)
    assert mad["step_sequences"] == pytest.approx(1 / 6)
    assert mad["line_number_refs"] == pytest.approx(1 / 6)
    assert mad["symbol_refs"] == pytest.approx(3 / 6)
    assert c.signal_mad["has_redirect"] == {"kind": "exact", "mismatch": pytest.approx(1 / 6)}
    assert c.signal_mad["last_audited"] == {"kind": "exact", "mismatch": 0.0}
    assert c.confusion["LOW"] == {"HIGH": 1, "MODERATE": 0, "LOW": 3, "SKIP": 1}
    assert c.confusion["MODERATE"] == {"HIGH": 0, "MODERATE": 1, "LOW": 0, "SKIP": 0}
    assert c.confusion["HIGH"] == c.confusion["SKIP"] == dict.fromkeys(TIERS, 0)


def test_items_in_one_run_only_are_listed_apart():
    run_with("audit-scan-a", BASE_DOCS[:4])
    run_with("audit-scan-b", [signals("z.md"), *BASE_DOCS[2:]])
    c = compare_runs("audit-scan-a", "audit-scan-b")
    assert [row.key for row in c.common] == ["c.md", "d.md"]
    assert c.only_a == ["a.md", "b.md"]
    assert c.only_b == ["z.md", "e.md"]  # in b's item order
    assert c.a.items == 4 and c.b.items == 4
    assert c.tier_agreement == 1.0  # the items of one run only take no part


def test_disjoint_runs_have_no_metrics():
    run_with("audit-scan-a", BASE_DOCS[:2], model="local")
    run_with("audit-scan-b", BASE_DOCS[2:], model="haiku")
    c = compare_runs("audit-scan-a", "audit-scan-b")
    assert c.common == []
    assert c.only_a == ["a.md", "b.md"]
    assert c.only_b == ["c.md", "d.md", "e.md"]
    assert c.tier_agreement is None and c.kappa is None and c.spearman is None
    assert list(c.signal_mad) == COMPARED
    assert all(metric.get("mad", metric.get("mismatch")) is None for metric in c.signal_mad.values())
    # The local side is still the ground truth, but there is nothing to measure accuracy on.
    assert c.ground_truth == "a"
    assert c.accuracy is None
    assert all(count == 0 for row in c.confusion.values() for count in row.values())


def test_runs_without_items_are_still_compared():
    make_run("audit-scan-a", status=RunStatus.RUNNING, started_at=timezone.now())
    make_run("audit-scan-b", status=RunStatus.PENDING)
    c = compare_runs("audit-scan-a", "audit-scan-b")
    assert c.common == c.only_a == c.only_b == []
    assert c.tier_agreement is None and c.kappa is None and c.spearman is None
    assert c.signal_mad == {}
    assert c.a.items == 0 and c.a.cost_per_item is None
    assert c.b.duration_seconds is None  # never started
    assert c.a.duration_seconds is not None  # running: counted until now


# --- the header ------------------------------------------------------------------------------------
def test_sides_carry_cost_tokens_and_duration():
    started = timezone.now() - timedelta(minutes=10)
    run_with(
        "audit-scan-a",
        BASE_DOCS[:4],
        status=RunStatus.SUCCEEDED,
        started_at=started,
        finished_at=started + timedelta(seconds=90),
        input_tokens=1000,
        output_tokens=200,
        cache_write_tokens=30,
        cache_read_tokens=4,
        cost_usd=Decimal("0.020000"),
    )
    run_with("audit-scan-b", BASE_DOCS[:4], model="local", status=RunStatus.SUCCEEDED)
    c = compare_runs("audit-scan-a", "audit-scan-b")
    assert c.a.run.run_id == "audit-scan-a"
    assert c.a.items == 4
    assert c.a.tokens == 1234
    assert c.a.cost_usd == pytest.approx(0.02)
    assert c.a.cost_per_item == pytest.approx(0.005)  # 0.02 / 4
    assert c.a.duration_seconds == 90
    assert c.b.cost_usd == 0 and c.b.cost_per_item == 0


# --- ground truth ----------------------------------------------------------------------------------
# haiku gets lines wrong on a.md, symbol_refs wrong on a.md and b.md, and misses c.md's redirect.
HAIKU_DOCS = [
    signals("a.md", lines=60, symbol_refs=1),
    signals("b.md", import_count=1, lines=150, symbol_refs=2),
    signals("c.md", lines=300, code_blocks=5, file_path_refs=6, has_redirect=True),
    signals("d.md", last_audited="2026-11-01", broken_paths=2, lines=250),
]


@pytest.mark.parametrize("local_side", ["a", "b"])
def test_local_side_is_the_ground_truth(local_side):
    local = run_with("audit-scan-local", BASE_DOCS[:4], model="local")
    haiku = run_with("audit-scan-haiku", HAIKU_DOCS, model="haiku")
    pair = (local, haiku) if local_side == "a" else (haiku, local)
    c = compare_runs(pair[0].run_id, pair[1].run_id)
    assert c.ground_truth == local_side
    assert c.side(local_side).run == local
    assert list(c.accuracy) == COMPARED
    # 4 common docs: lines wrong on 1 (3/4), symbol_refs on 2 (2/4), has_redirect on 1 (3/4).
    assert c.accuracy["lines"] == 0.75
    assert c.accuracy["symbol_refs"] == 0.5
    assert c.accuracy["has_redirect"] == 0.75
    others = set(COMPARED) - {"lines", "symbol_refs", "has_redirect"}
    assert {name: c.accuracy[name] for name in others} == dict.fromkeys(others, 1.0)


def test_no_ground_truth_when_both_sides_are_local():
    run_with("audit-scan-a", BASE_DOCS, model="local")
    run_with("audit-scan-b", BASE_DOCS, model="local")
    c = compare_runs("audit-scan-a", "audit-scan-b")
    assert c.ground_truth is None and c.accuracy is None


# --- errors ----------------------------------------------------------------------------------------
def test_unknown_run_ids_are_named():
    make_run("audit-scan-a")
    with pytest.raises(CompareError) as excinfo:
        compare_runs("audit-scan-a", "nope")
    assert str(excinfo.value) == "no run 'nope'"
    with pytest.raises(CompareError, match=r"^no run 'missing'$"):
        compare_runs("missing", "audit-scan-a")


def test_runs_of_different_operations_are_refused():
    make_run("audit-scan-a")
    make_run("learn-b", operation="learn")
    with pytest.raises(CompareError) as excinfo:
        compare_runs("audit-scan-a", "learn-b")
    assert str(excinfo.value) == (
        "audit-scan-a and learn-b are different operations (audit-scan vs learn): "
        "only runs of the same operation can be compared"
    )


# --- JSON ------------------------------------------------------------------------------------------
def test_comparison_json_is_json_safe_and_complete():
    run_with("audit-scan-a", DOCS_A[:5], model="local", cost_usd=Decimal("0"))
    run_with("audit-scan-b", [*DOCS_B[:5], signals("extra.md")], model="haiku", cost_usd=Decimal("0.06"))
    c = compare_runs("audit-scan-a", "audit-scan-b")
    data = json.loads(json.dumps(comparison_json(c)))
    assert set(data) >= {
        "a",
        "b",
        "operation",
        "agreement",
        "ground_truth",
        "accuracy",
        "confusion",
        "items",
        "only_a",
        "only_b",
    }
    side_keys = {
        "run_id",
        "model",
        "model_id",
        "status",
        "items",
        "duration_seconds",
        "tokens",
        "cost_usd",
        "cost_per_item",
    }
    assert set(data["a"]) >= side_keys and set(data["b"]) >= side_keys
    assert data["a"]["model_id"] == "local" and data["b"]["model"] == "haiku"
    assert data["b"]["cost_usd"] == 0.06 and data["b"]["cost_per_item"] == pytest.approx(0.01)
    assert data["operation"] == "audit-scan"
    assert set(data["agreement"]) >= {"tier_agreement", "kappa", "spearman", "signals"}
    assert data["agreement"]["signals"]["lines"] == {"kind": "numeric", "mad": pytest.approx(200 / 5)}
    assert data["agreement"]["signals"]["has_redirect"]["kind"] == "exact"
    assert data["ground_truth"] == "a"
    assert data["accuracy"]["lines"] == pytest.approx(4 / 5)
    assert data["confusion"]["LOW"]["HIGH"] == 1
    assert [item["key"] for item in data["items"]] == ["a.md", "d.md", "b.md", "c.md", "e.md"]
    first = data["items"][0]
    assert set(first) >= {"key", "score_a", "score_b", "tier_a", "tier_b", "differing"}
    assert (first["score_a"], first["score_b"], first["tier_a"], first["tier_b"]) == (3, 10, "LOW", "HIGH")
    assert first["differing"] == ["lines", "code_blocks", "broken_paths"]
    assert first["values"]["lines"] == {"a": 50, "b": 250}
    assert data["items"][1]["values"] == {"has_redirect": {"a": False, "b": True}}
    assert data["only_a"] == [] and data["only_b"] == ["extra.md"]


def test_comparison_json_of_empty_runs():
    make_run("audit-scan-a")
    make_run("audit-scan-b")
    data = json.loads(json.dumps(comparison_json(compare_runs("audit-scan-a", "audit-scan-b"))))
    assert data["agreement"]["tier_agreement"] is None
    assert data["agreement"]["kappa"] is None
    assert data["ground_truth"] is None and data["accuracy"] is None
    assert data["items"] == [] and data["a"]["cost_per_item"] is None


# --- text ------------------------------------------------------------------------------------------
def test_comparison_text_names_both_runs_the_metrics_and_the_disagreements():
    run_with("audit-scan-a", DOCS_A[:5], model="local")
    run_with("audit-scan-b", [*DOCS_B[:5], signals("extra.md")], model="haiku")
    text = comparison_text(compare_runs("audit-scan-a", "audit-scan-b"))
    lines = text.splitlines()
    assert lines[0].startswith("A  audit-scan-a  local (local)") and lines[0].endswith("[ground truth]")
    assert lines[1].startswith("B  audit-scan-b  haiku (claude-haiku-4-5)")
    assert "audit-scan: 5 items in both, 0 only in A, 1 only in B" in lines
    assert "lines" in text and "mean abs diff 40.00, accuracy 80.0%" in text
    assert "disagreements: 4" in lines
    assert "  a.md  3 LOW -> 10 HIGH  lines 50 -> 250, code_blocks 0 -> 4, broken_paths 0 -> 1" in lines
    assert "  d.md  3 LOW -> 1 SKIP  has_redirect False -> True" in lines
    assert lines[-1] == "only in B: extra.md"


def test_comparison_text_of_empty_runs():
    make_run("audit-scan-a")
    make_run("audit-scan-b")
    text = comparison_text(compare_runs("audit-scan-a", "audit-scan-b"))
    assert "same tier -, kappa -, spearman -" in text
    assert "disagreements: 0" in text
