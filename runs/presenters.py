"""What the pages show, computed from the models: progress, history rows, transcript turns.

Kept out of the views (which only load, call and render) and out of the templates (which only lay out).
"""

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db import connection
from django.db.models import Func, IntegerField, QuerySet
from django.db.models.fields.json import KeyTransform

from .models import Batch, BatchStatus, Run, RunSearchTerm
from .models.search import query_range
from .operations import operations
from .operations.presentation import Presentation, Scanned

FOLD_LINES = 12
FOLD_CHARS = 1200


@dataclass(frozen=True)
class Progress:
    batches_total: int
    batches_verified: int
    batches_failed: int
    items_total: int
    items_done: int

    @property
    def percent(self) -> int:
        return round(100 * self.batches_verified / self.batches_total) if self.batches_total else 0


def progress(batches: Sequence[Batch]) -> Progress:
    """Batches and items done; a batch's items are its ``input_count`` (``run_page_batches`` has the
    database count them) or, for a batch loaded whole, its inputs."""
    verified = [b for b in batches if b.status == BatchStatus.VERIFIED]

    def items(b: Batch) -> int:
        return b.input_count if hasattr(b, "input_count") else len(b.inputs)

    return Progress(
        batches_total=len(batches),
        batches_verified=len(verified),
        batches_failed=sum(b.status == BatchStatus.FAILED for b in batches),
        items_total=sum(items(b) for b in batches),
        items_done=sum(items(b) for b in verified),
    )


class JSONArrayLength(Func):
    """The length of a JSON array column, counted by the database (the list itself is not loaded)."""

    function = "JSON_ARRAY_LENGTH"
    output_field = IntegerField()

    def as_postgresql(self, compiler: Any, connection: Any, **extra_context: Any) -> Any:
        return self.as_sql(compiler, connection, function="JSONB_ARRAY_LENGTH", **extra_context)


# What the run page shows of a run and of each batch: it is polled every second while the run goes on,
# so it reads these columns and no others (not the manifest, the outputs, nor any transcript).
RUN_PAGE_RUN_FIELDS = (
    "run_id", "operation", "status", "model", "model_id", "agents", "params", "stages", "current_stage",
    "error", "used_simulator", "api_base_url", "input_tokens", "output_tokens", "cache_write_tokens",
    "cache_read_tokens", "cost_usd", "max_cost", "mode", "created_at", "started_at", "finished_at",
)  # fmt: skip
RUN_PAGE_BATCH_FIELDS = (
    "run_id", "index", "stage", "role", "status", "attempts", "turns", "input_tokens", "output_tokens",
    "cache_write_tokens", "cache_read_tokens", "cost_usd", "protocol_warnings", "failure_reason",
    "started_at", "finished_at",
)  # fmt: skip


def run_page_run(queryset: QuerySet[Run]) -> QuerySet[Run]:
    """Runs with what the run page shows, and their manifests' price tables alone."""
    return queryset.only(*RUN_PAGE_RUN_FIELDS).annotate(
        stage_models=KeyTransform("stage_models", "manifest"), prices=KeyTransform("prices", "manifest")
    )


def run_page_batches(run: Run) -> list[Batch]:
    return list(run.batches.only(*RUN_PAGE_BATCH_FIELDS).annotate(input_count=JSONArrayLength("inputs")))


# What a page of the history does not read: the blobs (a run's report, its manifest with every item and
# the partition, its summary with gather's path lists). The summary keys the presentations ask for come
# alone, annotated (``history_queryset``).
HISTORY_DEFERRED = ("report", "manifest", "summary", "error")


def _summary_keys() -> list[str]:
    return list(dict.fromkeys(k for op in operations() for k in op.presentation.history_summary))


def history_queryset(params: Mapping[str, str]) -> QuerySet[Run]:
    """Runs newest first, filtered by operation, model and status, searched by the start of a word of
    their run id or of what they were about (each operation's ``search_params``: the docs folder, the
    repository, the title...; runs/models/search.py). Each filter and the order are an index's."""
    runs = Run.objects.all()
    for key in ("operation", "model", "status"):
        value = (params.get(key) or "").strip()
        if value:
            runs = runs.filter(**{key: value})
    bounds = query_range(params.get("q") or "")
    if bounds:
        found = RunSearchTerm.objects.filter(term__gte=bounds[0], term__lt=bounds[1])
        runs = runs.filter(pk__in=found.values("run_id"))
    listed = {f"summary_{key}": KeyTransform(key, "summary") for key in _summary_keys()}
    return runs.defer(*HISTORY_DEFERRED).annotate(**listed).order_by("-created_at", "-id")


def model_choices_sql() -> str:
    """Every model some run used, smallest first: one index lookup per distinct model (a loose index
    scan on the model index), not a read of every run."""
    table = connection.ops.quote_name(Run._meta.db_table)
    return f"""
        WITH RECURSIVE used(model) AS (
            SELECT MIN(model) FROM {table}
            UNION ALL
            SELECT (SELECT MIN(model) FROM {table} WHERE model > used.model) FROM used
            WHERE used.model IS NOT NULL
        )
        SELECT model FROM used WHERE model IS NOT NULL
    """  # the table name is the model's own, quoted: nothing here comes from a request


def model_choices() -> list[str]:
    """The history's model filter's choices (``model_choices_sql``)."""
    with connection.cursor() as cursor:
        cursor.execute(model_choices_sql())
        return [row[0] for row in cursor.fetchall()]


@dataclass
class HistoryRow:
    run: Run
    scanned: Scanned | None  # what the run was about
    items: int
    groups: list[tuple[str, int]]  # the operation's groups column; empty shows a dash
    link: str = ""  # where "what it scanned" leads, when an operation offers a page about it


def history_rows(runs: Iterable[Run]) -> list[HistoryRow]:
    """The history's rows for one page of runs, from what each run stored when it ended (its item and
    group counts): each operation says what its runs were about and which of its groups to show."""
    presentations = {op.name: op.presentation for op in operations()}
    keys = _summary_keys()
    rows = []
    for run in runs:
        # A run of an operation no longer offered is still listed, with what every run has.
        presentation = presentations.get(run.operation, Presentation())
        # The summary's keys the presentations read, as annotated (the rest was never loaded).
        run.summary = {key: getattr(run, f"summary_{key}") for key in keys}
        known = presentation.history_items(run)
        rows.append(
            HistoryRow(
                run=run,
                scanned=presentation.scanned(run),
                items=known if known is not None else run.item_count,
                groups=presentation.history_groups(dict(run.group_counts)),
                link=next((url for p in presentations.values() if (url := p.history_link(run))), ""),
            )
        )
    return rows


def shorten_middle(text: str, limit: int = 48) -> str:
    """``text`` cut to ``limit`` characters by dropping its middle: the start and the end of a path
    say the most (which tree, which folder)."""
    if len(text) <= limit:
        return text
    keep = limit - 1
    head = keep // 3
    return text[:head] + "…" + text[len(text) - (keep - head) :]


@dataclass
class Turn:
    """One entry of a transcript, made readable: blocks with long text folded."""

    role: str
    attempt: int | None = None
    blocks: list[dict[str, Any]] = field(default_factory=list)
    usage: dict[str, Any] | None = None
    stop_reason: str | None = None
    seconds: float | None = None


def _text_block(kind: str, text: str, name: str = "", is_error: bool = False) -> dict[str, Any]:
    lines = len(text.splitlines())
    folded = lines > FOLD_LINES or len(text) > FOLD_CHARS
    return {
        "kind": kind,
        "name": name,
        "text": text,
        "folded": folded,
        "summary": f"{lines} lines, {len(text):,} characters",
        "is_error": is_error,
    }


def _tool_input(tool_input: object) -> str:
    """A tool call's input, readable: ``key: value`` lines, and a long text (write_file's content) as is
    below its key rather than as one JSON string full of ``\\n``."""
    if not isinstance(tool_input, dict):
        return json.dumps(tool_input, indent=2)
    lines = []
    for key, value in tool_input.items():
        if isinstance(value, str) and "\n" in value:
            lines.append(f"{key}:\n{value}")
        else:
            lines.append(f"{key}: {value if isinstance(value, str) else json.dumps(value)}")
    return "\n".join(lines)


def transcript_turns(transcript: list[dict[str, Any]]) -> list[Turn]:
    turns = []
    for entry in transcript:
        role = entry.get("role", "?")
        turn = Turn(
            role=role,
            attempt=entry.get("attempt"),
            usage=entry.get("usage"),
            stop_reason=entry.get("stop_reason"),
        )
        turn.seconds = entry.get("seconds")
        if role in ("system", "error"):
            turn.blocks.append(_text_block(role, entry.get("text", "")))
        for block in entry.get("content") or []:
            kind = block.get("type")
            if kind == "text":
                turn.blocks.append(_text_block("text", block.get("text", "")))
            elif kind == "thinking":
                turn.blocks.append(_text_block("thinking", block.get("thinking", "")))
            elif kind == "tool_use":
                name = block.get("name", "")
                turn.blocks.append(_text_block("tool_use", _tool_input(block.get("input")), name=name))
            elif kind == "tool_result":
                content = block.get("content")
                if isinstance(content, list):
                    content = "\n".join(c.get("text", "") for c in content if isinstance(c, dict))
                turn.blocks.append(
                    _text_block("tool_result", str(content or ""), is_error=bool(block.get("is_error")))
                )
            else:
                turn.blocks.append(_text_block(str(kind), json.dumps(block, indent=2)))
        turns.append(turn)
    return turns


def price_lines(run: Run) -> list[str]:
    """Which price table each model of the run was costed with (from its manifest, so a later change of
    prices never rewrites an old run's cost). A run loaded by ``run_page_run`` brings the manifest's
    ``stage_models`` alone."""
    seen, lines = set(), []
    annotated = vars(run)  # what run_page_run annotated, when the run came from there
    source = annotated if "stage_models" in annotated else run.manifest
    stage_models: dict[str, Any] = source.get("stage_models") or {
        "1": {"model_id": run.model_id, "prices": source.get("prices")}
    }
    for entry in stage_models.values():
        model_id, prices = entry.get("model_id"), entry.get("prices") or {}
        if not prices or model_id in seen:
            continue
        seen.add(model_id)
        line = (
            f"{model_id}: input ${prices['input']:g}, output ${prices['output']:g}, "
            f"cache write ${prices['cache_write_5m']:g}, cache read ${prices['cache_read']:g} "
            "per million tokens"
        )
        if prices.get("long_prompt_threshold"):
            line += (
                f" ({prices.get('long_prompt_multiplier', 1):g} times that for a request over "
                f"{prices['long_prompt_threshold']:,} tokens)"
            )
        lines.append(line)
    return lines
