"""Two audit-doc runs side by side (haiku against sonnet on the same docs): verdict agreement, Cohen's
kappa on verdicts, agreement per section category, and the findings only one side found.

The items (one per doc) are read once per run; docs are compared only where both runs audited them.
Sections are paired by position (erkweb computed them from the same doc, so both tables list the same
sections in the same order when both runs read the same bytes; a pair whose names differ is left out).
A category's agreement is the share of sections that both sides put in it among those either side put
in it: it says how far the two models mean the same thing by that category. A finding is identified by
its status, kind and subject. Every measure is None when it has nothing to measure.
"""

from dataclasses import dataclass, field
from typing import Any

from runs.agreement import agreement, cohens_kappa
from runs.compare import Side, side_json
from runs.models import ItemResult, Run

from .history import doc_url
from .verdict import CATEGORIES, VERDICTS


@dataclass(frozen=True)
class DocRow:
    doc: str
    verdict_a: str
    verdict_b: str
    bad_a: int
    bad_b: int
    only_a: tuple[str, ...]  # findings, as lines, only run a found
    only_b: tuple[str, ...]
    history_url: str = ""  # the doc's history under run a's docs root
    history_url_b: str = ""  # under run b's, when b audited another docs root

    @property
    def agrees(self) -> bool:
        return self.verdict_a == self.verdict_b


@dataclass
class Comparison:
    a: Side
    b: Side
    operation: str
    common: list[DocRow]  # disagreements first, then by doc
    only_in_a: list[str]  # docs only run a audited
    only_in_b: list[str]
    verdict_agreement: float | None
    kappa: float | None
    categories: dict[str, dict[str, Any]]  # {category: {"either": n, "both": n, "agreement": share}}
    only_in_a_links: list[tuple[str, str]] = field(default_factory=list)  # (doc, its history)
    only_in_b_links: list[tuple[str, str]] = field(default_factory=list)


def _items(run: Run) -> dict[str, dict[str, Any]]:
    rows = ItemResult.objects.filter(run=run).order_by("position").values_list("key", "data")
    return dict(rows)


def finding_line(finding: dict[str, Any]) -> str:
    return f"{finding['status']} {finding['kind']} {finding['subject']}"


def _categories(pairs: list[tuple[str, str]]) -> dict[str, dict[str, Any]]:
    out = {}
    for category in CATEGORIES:
        either = sum(1 for a, b in pairs if category in (a, b))
        both = sum(1 for a, b in pairs if a == b == category)
        if either:
            out[category] = {"either": either, "both": both, "agreement": both / either}
    return out


def compare(run_a: Run, run_b: Run) -> Comparison:
    items_a = _items(run_a)
    items_b = items_a if run_b.pk == run_a.pk else _items(run_b)
    root_a, root_b = run_a.params.get("docs_root", ""), run_b.params.get("docs_root", "")
    rows, pairs = [], []
    for doc, a in items_a.items():
        b = items_b.get(doc)
        if b is None:
            continue
        found_a = [finding_line(f) for f in a["findings"]]
        found_b = [finding_line(f) for f in b["findings"]]
        rows.append(
            DocRow(
                doc,
                a["verdict"],
                b["verdict"],
                a["bad"],
                b["bad"],
                tuple(line for line in found_a if line not in found_b),
                tuple(line for line in found_b if line not in found_a),
                doc_url(root_a, doc),
                doc_url(root_b, doc) if root_b != root_a else "",
            )
        )
        for section_a, section_b in zip(a["sections"], b["sections"], strict=False):
            if section_a["name"] == section_b["name"]:
                pairs.append((section_a["category"], section_b["category"]))
    verdicts_a, verdicts_b = [r.verdict_a for r in rows], [r.verdict_b for r in rows]
    only_in_a = [doc for doc in items_a if doc not in items_b]
    only_in_b = [doc for doc in items_b if doc not in items_a]
    return Comparison(
        a=Side.of(run_a, len(items_a)),
        b=Side.of(run_b, len(items_b)),
        operation=run_a.operation,
        common=sorted(rows, key=lambda r: (r.agrees, r.doc)),
        only_in_a=only_in_a,
        only_in_b=only_in_b,
        verdict_agreement=agreement(verdicts_a, verdicts_b) if rows else None,
        kappa=cohens_kappa(verdicts_a, verdicts_b, VERDICTS) if rows else None,
        categories=_categories(pairs),
        only_in_a_links=[(doc, doc_url(root_a, doc)) for doc in only_in_a],
        only_in_b_links=[(doc, doc_url(root_b, doc)) for doc in only_in_b],
    )


def comparison_json(c: Comparison) -> dict[str, Any]:
    return {
        "operation": c.operation,
        "a": side_json(c.a),
        "b": side_json(c.b),
        "verdict_agreement": c.verdict_agreement,
        "kappa": c.kappa,
        "categories": c.categories,
        "docs": [
            {
                "doc": r.doc,
                "verdict_a": r.verdict_a,
                "verdict_b": r.verdict_b,
                "bad_a": r.bad_a,
                "bad_b": r.bad_b,
                "findings_only_a": list(r.only_a),
                "findings_only_b": list(r.only_b),
            }
            for r in c.common
        ],
        "only_in_a": c.only_in_a,
        "only_in_b": c.only_in_b,
    }


def _share(value: float | None) -> str:
    return "-" if value is None else f"{value:.0%}"


def comparison_text(c: Comparison) -> str:
    kappa = "-" if c.kappa is None else f"{c.kappa:.3f}"
    lines = [
        f"A {c.a.run.run_id} ({c.a.run.model}) vs B {c.b.run.run_id} ({c.b.run.model})",
        f"docs in both: {len(c.common)}; same verdict: {_share(c.verdict_agreement)}; kappa: {kappa}",
    ]
    for category, m in c.categories.items():
        lines.append(f"  {category}: {_share(m['agreement'])} of {m['either']} sections")
    for r in c.common:
        if not r.agrees or r.only_a or r.only_b:
            lines.append(f"{r.doc}: {r.verdict_a} vs {r.verdict_b}")
            lines += [f"  only A: {line}" for line in r.only_a] + [f"  only B: {line}" for line in r.only_b]
    return "\n".join(lines)
