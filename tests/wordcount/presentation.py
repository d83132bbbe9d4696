"""What the pages, the command line, the comparison and the exports show of word-count."""

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django import forms

from runs.agreement import agreement, mean_abs_diff
from runs.compare import Side, side_json
from runs.operations.presentation import Presentation, Scanned

if TYPE_CHECKING:
    from runs.models import ItemResult, Run


@dataclass
class WordCountComparison:
    a: Side
    b: Side
    operation: str
    same: list[str]  # files counted alike
    different: list[tuple[str, int, int]]  # (file, words in a, words in b)
    agreement: float | None  # share of common files counted alike
    mean_difference: float | None


class WordCountPresentation(Presentation):
    folder = "wordcount"
    search_params = ("texts_root",)
    csv_columns = ("run_id", "file", "words", "length")

    def form_fields(self) -> dict[str, forms.Field]:
        return {
            "texts_root": forms.CharField(
                label="Texts folder", max_length=500, required=False, help_text="a folder of .txt files"
            )
        }

    def scanned(self, run: "Run") -> Scanned:
        return Scanned(path=run.params.get("texts_root") or "")

    def text_lines(self, run: "Run") -> list[str]:
        return [f"texts: {run.params.get('texts_root')} ({run.summary.get('files', 0)} files)"]

    def csv_row(self, run: "Run", item: "ItemResult") -> list[Any]:
        return [run.run_id, item.key, item.score, item.group.lower()]

    def compare(self, run_a: "Run", run_b: "Run") -> WordCountComparison:
        words_a = {key: n for key, n in run_a.items.values_list("key", "score") if n is not None}
        words_b = {key: n for key, n in run_b.items.values_list("key", "score") if n is not None}
        common = sorted(set(words_a) & set(words_b))
        return WordCountComparison(
            a=Side.of(run_a, len(words_a)),
            b=Side.of(run_b, len(words_b)),
            operation=run_a.operation,
            same=[key for key in common if words_a[key] == words_b[key]],
            different=[(key, words_a[key], words_b[key]) for key in common if words_a[key] != words_b[key]],
            agreement=agreement([words_a[k] for k in common], [words_b[k] for k in common]),
            mean_difference=mean_abs_diff([words_a[k] for k in common], [words_b[k] for k in common]),
        )

    def comparison_json(self, c: WordCountComparison) -> dict[str, Any]:
        return {
            "operation": c.operation,
            "a": side_json(c.a),
            "b": side_json(c.b),
            "agreement": c.agreement,
            "mean_difference": c.mean_difference,
            "different": [{"file": f, "a": a, "b": b} for f, a, b in c.different],
        }

    def comparison_text(self, c: WordCountComparison) -> str:
        lines = [f"A {c.a.run.run_id}  B {c.b.run.run_id}", f"counted alike: {len(c.same)} files"]
        lines += [f"  {file}: {a} -> {b}" for file, a, b in c.different]
        return "\n".join(lines)
