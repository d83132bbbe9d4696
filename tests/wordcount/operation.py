"""word-count as an engine plug-in: one stage; each agent counts the words of its files and writes one
``<path>: <words>`` line per file."""

import re
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from runs.errors import InputError
from runs.markdown import table_cell
from runs.operations.base import Checked, ItemRow, Operation, OutputRejected, Plan, PlannedBatch
from runs.partition import round_robin
from runs.scratch import output_file
from runs.tools import Toolbox

from .presentation import WordCountPresentation

MARKER = "# erkweb agent: word-count"
LONG = 10  # words from which a file is LONG
_LINE = re.compile(r"(?P<path>[^:\n]+): (?P<words>[0-9]{1,9})")
_ASSIGNMENT = re.compile(
    r"run: (?P<run>\S+)\nbatch: (?P<index>[0-9]+) of (?P<count>[0-9]+)\noutput: (?P<out>.+)\n"
)

if TYPE_CHECKING:
    from runs.models import Batch, Run


SYSTEM_PROMPT = f"""{MARKER}

You count words. Read every file you are given with read_file, count its words (runs of characters
between white space), and write one line per file to your output file with write_file, in the order
given: `<path>: <words>`. Then answer exactly `Output written to <output path>`.
"""


def count_words(text: str) -> int:
    return len(text.split())


def parse_counts(text: str) -> dict[str, int]:
    counts: dict[str, int] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        match = _LINE.fullmatch(line.strip())
        if not match:
            raise OutputRejected(f"line {number} is not `<path>: <words>`")
        if match["path"] in counts:
            raise OutputRejected(f"duplicate: {match['path']}")
        counts[match["path"]] = int(match["words"])
    return counts


def parse_assignment(message: str) -> dict[str, Any] | None:
    match = _ASSIGNMENT.match(message)
    if not match:
        return None
    files = [line[2:] for line in message[match.end() :].splitlines() if line.startswith("- ")]
    return {
        "run_id": match["run"],
        "index": int(match["index"]),
        "count": int(match["count"]),
        "output_path": match["out"],
        "files": files,
    }


class WordCount(Operation):
    presentation = WordCountPresentation()
    simulator_player = "tests.wordcount.player.WordCountPlayer"
    name = "word-count"
    title = "Word count (test-only)"
    stages = 1
    param_fields = ("texts_root",)

    def prepare(self, params: dict[str, Any], *, agents: int, as_of: date) -> Plan:
        if not params.get("texts_root"):
            raise InputError("word-count needs a folder of .txt files (--texts-root)", field="texts_root")
        root = Path(params["texts_root"]).expanduser().resolve()
        if not root.is_dir():
            raise InputError(f"The texts folder {root} is not a folder.", field="texts_root")
        files = sorted(
            p.relative_to(root).as_posix()
            for p in root.rglob("*.txt")
            if p.is_file() and p.resolve().is_relative_to(root)
        )
        if not files:
            raise InputError(f"No .txt file under {root}.", field="texts_root")
        sizes = {rel: (root / rel).stat().st_size for rel in files}
        return Plan(
            params={"texts_root": str(root), "as_of": as_of.isoformat()},
            items=files,
            batches=[
                PlannedBatch(stage=1, inputs=batch, filename=f"batch-{n}.md")
                for n, batch in enumerate(round_robin(files, agents), start=1)
            ],
            summary={"files": len(files), "characters": sum(sizes.values())},
            item_sizes=sizes,
        )

    def system_prompt(self, run: "Run | None", batch: "Batch | None") -> str:
        return SYSTEM_PROMPT

    def batch_message(self, run: "Run", batch: "Batch") -> str:
        files = "".join(f"- {path}\n" for path in batch.inputs)
        head = f"run: {run.run_id}\nbatch: {batch.index} of {run.batches.count()}\n"
        return f"{head}output: {output_file(batch)}\nfiles:\n{files}"

    def toolbox(self, run: "Run", batch: "Batch", output: Path) -> Toolbox:
        root = Path(run.params["texts_root"])
        return Toolbox(read_root=root, repo_root=root, output_path=output)

    def local_output(self, run: "Run", batch: "Batch") -> str:
        root = Path(run.params["texts_root"])
        return "".join(
            f"{path}: {count_words((root / path).read_text(encoding='utf-8', errors='replace'))}\n"
            for path in batch.inputs
        )

    def check_output(self, run: "Run", batch: "Batch", text: str) -> Checked:
        counts = parse_counts(text)
        for path in batch.inputs:
            if path not in counts:
                raise OutputRejected(f"missing: {path}")
        for path in counts:
            if path not in batch.inputs:
                raise OutputRejected(f"unexpected: {path}")
        rows = [
            ItemRow(key=path, score=words, group="LONG" if words >= LONG else "SHORT", data={"words": words})
            for path, words in counts.items()
        ]
        return Checked(text=text, items=tuple(rows))

    def aggregate(self, run: "Run") -> str:
        rows = sorted(run.items.all(), key=lambda row: row.key)
        total = sum(row.data["words"] for row in rows)
        lines = ["# Word count", "", f"{len(rows)} files, {total} words.", ""]
        lines += ["| File | Words |", "| --- | ---: |"]
        lines += [f"| {table_cell(row.key)} | {row.score} |" for row in rows]
        return "\n".join(lines) + "\n"

    def group_counts(self, run: "Run") -> dict[str, int]:
        groups = list(run.items.values_list("group", flat=True))
        return {group: groups.count(group) for group in ("LONG", "SHORT")}
