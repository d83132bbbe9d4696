"""learn as an engine plug-in: four stages of agents, each reading the verified files of the stage before
(specs/learn.md)."""

import json
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from runs.errors import InputError
from runs.markdown import table_cell
from runs.scratch import output_file, run_scratch
from runs.tools import Toolbox

from ..base import Checked, ItemRow, Operation, Plan, PlannedBatch
from . import agents as A
from . import prompts
from .checks import check_file
from .git import DEFAULT_RANGE, check_range, check_repo, diff_and_log
from .hints import search_hints
from .local import analyse
from .parsers import normalize_action, parse_candidates, parse_plan_items
from .presentation import LearnPresentation
from .sessions import SessionStats, discover_sessions, preprocess

if TYPE_CHECKING:
    from runs.models import Batch, Run


class Learn(Operation):
    presentation = LearnPresentation()
    simulator_player = "runs.operations.learn.player.LearnPlayer"
    name = "learn"
    title = "Learn: sessions and diff to a documentation plan"
    stages = 4
    default_model = "sonnet"
    takes_agent_count = False
    stage_names = A.STAGE_NAMES
    param_fields = ("title", "repo_root", "range", "sessions", "docs_root", "comments")

    # --- before the run ------------------------------------------------------------------------------
    def prepare(self, params: dict[str, Any], *, agents: int, as_of: date) -> Plan:
        title = " ".join((params.get("title") or "").split())
        if not title:
            raise InputError("learn needs a title: what the work was (--title)", field="title")
        if not params.get("repo_root"):
            raise InputError("learn needs a git repository (--repo-root)", field="repo_root")
        repo_root = check_repo(Path(params["repo_root"]).expanduser())
        rev_range = (params.get("range") or "").strip() or DEFAULT_RANGE
        base, head = check_range(repo_root, rev_range)
        docs_root = _docs_root(params.get("docs_root"), repo_root)
        comments = _comments(params.get("comments"))
        session_paths = [Path(p).expanduser() for p in (params.get("sessions") or [])]
        sessions = discover_sessions(session_paths or None, repo_root)
        chunks, stats = preprocess(sessions)
        diff, log = diff_and_log(repo_root, f"{base}..{head}")
        hints = search_hints(title)

        files = {f"{A.SESSIONS_DIR}/{c.name}": c.text for c in chunks}
        files[A.DIFF_FILE] = diff
        files[A.LOG_FILE] = log
        if comments is not None:
            files[A.COMMENTS_FILE] = json.dumps(comments, indent=2) + "\n"

        specs = _agents(
            chunk_names=[c.name for c in chunks],
            with_docs=docs_root is not None,
            with_comments=comments is not None,
        )
        notes = [] if docs_root else ["no docs root: the docs checker is left out"]
        return Plan(
            params={
                "title": title,
                "repo_root": str(repo_root),
                "range": rev_range,
                "base": base,
                "head": head,
                "sessions": [str(p) for p in sessions],
                "docs_root": str(docs_root) if docs_root else None,
                "comments": str(Path(params["comments"]).expanduser().resolve())
                if comments is not None
                else None,
                "hints": hints,
                "as_of": as_of.isoformat(),
            },
            items=[spec.output for spec in specs],
            batches=[
                PlannedBatch(stage=spec.stage, inputs=list(spec.reads), filename=spec.output, role=spec.kind)
                for spec in specs
            ],
            summary={
                "sessions": [_stats_json(s) for s in stats],
                "chunks": len(chunks),
                "diff_lines": diff.count("\n"),
                "commits": log.count("\ncommit ") + (1 if log.startswith("commit ") else 0),
                "hints": hints,
                "notes": notes,
                "characters": sum(len(text) for text in files.values()),
            },
            item_sizes={rel: len(text) for rel, text in files.items()},
            item_text=lambda rel: files.get(rel, ""),
            files=files,
        )

    # --- the agents ----------------------------------------------------------------------------------
    def system_prompt(self, run: "Run | None", batch: "Batch | None") -> str:
        return prompts.SYSTEM_PROMPT

    def batch_message(self, run: "Run", batch: "Batch") -> str:
        return prompts.batch_message(
            run_id=run.run_id,
            index=batch.index,
            count=run.batches.count(),
            kind=batch.role,
            title=run.params["title"],
            output_path=str(output_file(batch)),
            hints=run.params.get("hints") or [],
            inputs=batch.inputs,
        )

    def toolbox(self, run: "Run", batch: "Batch", output: Path) -> Toolbox:
        docs_root = run.params.get("docs_root")
        return Toolbox(
            read_root=run_scratch(run),
            repo_root=Path(run.params["repo_root"]),
            output_path=output,
            docs_root=Path(docs_root) if docs_root else None,
        )

    def local_output(self, run: "Run", batch: "Batch") -> str:
        # The engine wrote the batch's inputs into this host's scratch folder before it started.
        scratch = run_scratch(run)
        toolbox = self.toolbox(run, batch, output_file(batch))
        return analyse(
            batch.role,
            title=run.params["title"],
            hints=run.params.get("hints") or [],
            inputs={
                rel: (scratch / rel).read_text(encoding="utf-8", errors="replace") for rel in batch.inputs
            },
            search=toolbox.search_docs if toolbox.docs_root else (lambda query: "no matches"),
        )

    def check_output(self, run: "Run", batch: "Batch", text: str) -> Checked:
        """The file of its agent's kind; the plan's items and the tripwire candidates are parsed here,
        with the file that holds them."""
        checked = check_file(batch.role, text, title=run.params["title"])
        text = checked.text if checked.text is not None else text
        if batch.role == A.TRIPWIRES:
            items = _candidate_rows(text, run.params.get("docs_root"))
        elif batch.role == A.PLAN:
            items = _plan_rows(text)
        else:
            items = []
        return Checked(text=text, warnings=tuple(checked.warnings), items=tuple(items))

    # --- after the run -------------------------------------------------------------------------------
    def aggregate(self, run: "Run") -> str:
        """The plan batch's output and the run's item rows, from the database."""
        batches = {b.index: b for b in run.batches.defer("output")}
        plan = run.batches.only("output").get(role=A.PLAN)
        rows = [ItemRow(key=i.key, score=i.score, group=i.group, data=i.data) for i in run.items.all()]
        return _report(run, plan.output, rows, batches)

    def summary_json(self, run: "Run") -> dict[str, Any]:
        batches = list(run.batches.order_by("index"))
        stage_models = run.manifest.get("stage_models", {})
        stages = [
            {
                "stage": stage,
                "name": A.STAGE_NAMES[stage],
                "model": stage_models.get(str(stage), {}).get("model_id", run.model_id),
                "batches": [b.index for b in batches if b.stage == stage],
                "status": _stage_status([b.status for b in batches if b.stage == stage]),
            }
            for stage in A.STAGES
        ]
        items = list(run.reported_items().order_by("position"))
        return {
            "title": run.params.get("title"),
            "range": run.params.get("range"),
            "stages": stages,
            "tripwire_candidates": [i.data for i in items if i.group == "TRIPWIRE"],
            "plan_items": [i.data for i in items if i.group != "TRIPWIRE"],
            "preprocessing": run.summary.get("sessions", []),
        }


KEY_CHARS = 480  # an item's key is at most 500 characters; an agent's action or plan item may be longer


def _candidate_rows(text: str, docs_root: str | None) -> list[ItemRow]:
    """One row per distinct candidate (by the spec's matching rule), with whether its target doc exists."""

    def exists(target: str) -> bool:
        return (Path(docs_root) / target).exists() if docs_root else False

    rows: list[ItemRow] = []
    seen: set[str] = set()
    for c in parse_candidates(text):
        key = f"tripwire: {normalize_action(c.action)}"[:KEY_CHARS]
        if key in seen:
            continue
        seen.add(key)
        data = {
            "action": c.action,
            "warning": c.warning,
            "target_doc_path": c.target_doc_path,
            "target_exists": exists(c.target_doc_path),
        }
        rows.append(ItemRow(key=key, score=None, group="TRIPWIRE", data=data))
    return rows


def _plan_rows(text: str) -> list[ItemRow]:
    return [
        ItemRow(
            key=f"doc {n}: {item.text}"[:KEY_CHARS],
            score=None,
            group=item.priority or "",
            data={"text": item.text, "priority": item.priority},
        )
        for n, item in enumerate(parse_plan_items(text), start=1)
    ]


def _stage_status(statuses: list[str]) -> str:
    if not statuses:
        return "none"
    if all(s == "verified" for s in statuses):
        return "verified"
    for status in ("failed", "running", "written", "pending", "cancelled"):
        if status in statuses:
            return status
    return "waiting"


def _agents(*, chunk_names: list[str], with_docs: bool, with_comments: bool) -> list[A.AgentSpec]:
    stage1 = [
        A.AgentSpec(A.SESSION, (f"{A.SESSIONS_DIR}/{name}",), A.session_output(name)) for name in chunk_names
    ]
    stage1.append(A.AgentSpec(A.DIFF, (A.DIFF_FILE, A.LOG_FILE), f"{A.AGENTS_DIR}/{A.OUTPUT_FILE[A.DIFF]}"))
    if with_docs:
        stage1.append(A.AgentSpec(A.DOCS, (), f"{A.AGENTS_DIR}/{A.OUTPUT_FILE[A.DOCS]}"))
    if with_comments:
        stage1.append(
            A.AgentSpec(A.COMMENTS, (A.COMMENTS_FILE,), f"{A.AGENTS_DIR}/{A.OUTPUT_FILE[A.COMMENTS]}")
        )
    gaps = A.AgentSpec(
        A.GAPS, tuple(spec.output for spec in stage1), f"{A.AGENTS_DIR}/{A.OUTPUT_FILE[A.GAPS]}"
    )
    analyses = tuple(spec.output for spec in stage1 if spec.kind in (A.SESSION, A.DIFF))
    plan = A.AgentSpec(A.PLAN, (gaps.output, *analyses), f"{A.AGENTS_DIR}/{A.OUTPUT_FILE[A.PLAN]}")
    tripwires = A.AgentSpec(
        A.TRIPWIRES, (plan.output, gaps.output), f"{A.AGENTS_DIR}/{A.OUTPUT_FILE[A.TRIPWIRES]}"
    )
    return [*stage1, gaps, plan, tripwires]


def _docs_root(given: str | None, repo_root: Path) -> Path | None:
    if given:
        path = Path(given).expanduser().resolve()
        if not path.is_dir():
            raise InputError(f"The docs root {path} is not a folder.", field="docs_root")
        return path
    default = repo_root / "docs" / "learned"
    return default if default.is_dir() else None


def _comments(given: str | None) -> list[Any] | None:
    if not given:
        return None
    path = Path(given).expanduser()
    if not path.is_file():
        raise InputError(f"The comments file {path} does not exist.", field="comments")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise InputError(f"The comments file {path} is not JSON: {exc}", field="comments") from None
    fields = {"path", "line", "author", "body"}
    if not isinstance(data, list) or not all(isinstance(c, dict) and fields <= set(c) for c in data):
        raise InputError(
            f"The comments file {path} must be a JSON list of objects with path, line, author and body.",
            field="comments",
        )
    return data


def _stats_json(stats: SessionStats) -> dict[str, Any]:
    return {
        "session_id": stats.session_id,
        "path": str(stats.path),
        "lines_read": stats.lines_read,
        "lines_kept": stats.lines_kept,
        "chars_before": stats.chars_before,
        "chars_after": stats.chars_after,
        "chunks": stats.chunks,
        "warmup": stats.warmup,
        "note": stats.note,
        "dropped": stats.dropped,
    }


def _report(run: "Run", plan_text: str, rows: list[ItemRow], batches: dict[int, "Batch"]) -> str:
    """The learn plan, then the tripwire candidates, the agents by stage, and the preprocessing figures."""
    lines = [plan_text.rstrip(), "", "## Tripwire Candidates", ""]
    candidates = [r for r in rows if r.group == "TRIPWIRE"]
    if candidates:
        lines += ["| Action | Warning | Target doc | Exists |", "| --- | --- | --- | --- |"]
        for r in candidates:
            s = r.data
            exists = "yes" if s["target_exists"] else "no"
            cells = [table_cell(s[key]) for key in ("action", "warning", "target_doc_path")]
            lines.append(f"| {' | '.join(cells)} | {exists} |")
    else:
        lines.append("_None._")
    lines += ["", "## Agents", ""]
    for stage in A.STAGES:
        stage_batches = [b for b in batches.values() if b.stage == stage]
        if not stage_batches:
            continue
        lines.append(f"- Stage {stage} ({A.STAGE_NAMES[stage]}):")
        for b in sorted(stage_batches, key=lambda b: b.index):
            rel = b.output_path
            # Four spaces: python-markdown nests a list only at that indentation.
            lines.append(f"    - [{b.role}: {rel}](/runs/{run.run_id}/batches/{b.index}/)")
    lines += ["", "## Preprocessing", ""]
    sessions = run.summary.get("sessions", [])
    if sessions:
        lines += [
            "| Session | Lines read | Lines kept | Characters before | Characters after | Chunks |",
            "| --- | ---: | ---: | ---: | ---: | ---: |",
        ]
        for s in sessions:
            warm = ""
            if s.get("dropped"):
                warm = f" (dropped: {table_cell(s['dropped'])})"
            elif s.get("warmup"):  # a run made before sessions said why they were dropped
                warm = " (warm-up, dropped)"
            warm += f" ({table_cell(s['note'])})" if s.get("note") else ""
            lines.append(
                f"| {table_cell(s['session_id'])}{warm} | {s['lines_read']} | {s['lines_kept']} | "
                f"{s['chars_before']} | {s['chars_after']} | {s['chunks']} |"
            )
    lines.append("")
    return "\n".join(lines)
