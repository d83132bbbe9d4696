"""What a succeeded audit-scan run's page offers through audit-doc's panel (Presentation.panels): audit
its top N docs, or the docs ticked in its ranking, with a model and what that would cost; and starting
that run (the panel's form target).

audit-scan knows nothing of this: audit-doc contributes the panel to the scan's page, and the run it
starts is an ordinary audit-doc run, prepared and refused exactly as ``erk run audit-doc --from-run``.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from django.conf import settings

from runs import engine
from runs.errors import InputError
from runs.estimate import estimate
from runs.forms import default_model
from runs.model_choice import LOCAL, Executor, model_choices, resolve_model
from runs.models import Run
from runs.operations import get_operation
from runs.tools import TOOL_SCHEMAS

from .history import doc_url
from .inputs import DEFAULT_TOP, MAX_DOCS, SCAN_OPERATION
from .search import SEARCH_CODE_SCHEMA

OPERATION = "audit-doc"
LOCAL_LABEL = "local heuristic (no LLM, free)"


@dataclass(frozen=True)
class RankedDoc:
    doc: str
    score: int | None
    tier: str
    url: str  # the doc's history


def offers_audit(run: Run) -> bool:
    return run.operation == SCAN_OPERATION and run.status == "succeeded"


def ranking(scan: Run) -> list[RankedDoc]:
    """The scan's docs as audit-doc ranks them (highest score first, ties in item order), at most
    MAX_DOCS: what the checkboxes offer."""
    rows = scan.items.order_by("-score", "position").values_list("key", "score", "group")[:MAX_DOCS]
    root = scan.params["docs_root"]
    return [RankedDoc(doc, score, tier, doc_url(root, doc)) for doc, score, tier in rows]


def estimates(scan: Run, top: int) -> list[tuple[str, Decimal]]:
    """(model alias, estimated cost) of auditing the scan's top ``top`` docs with each Claude alias:
    runs/estimate.py on the plan that run would have, tokens estimated from characters (no request)."""
    op = get_operation(OPERATION)
    try:
        plan = op.prepare({"from_run": scan.run_id, "top": top}, agents=1, as_of=date.today())
    except InputError:
        return []
    prompt = op.system_prompt(None, None)
    tools = [*TOOL_SCHEMAS, SEARCH_CODE_SCHEMA]
    out = []
    for alias in settings.ERKWEB_MODELS:
        out.append((alias, estimate(plan, _every_stage(resolve_model(alias)), prompt, tools=tools).cost_usd))
    return out


def _every_stage(executor: Executor) -> Callable[[int], Executor]:
    return lambda _stage: executor


def panel_context(scan: Run) -> dict[str, Any]:
    choices = [(name, LOCAL_LABEL if name == LOCAL else label) for name, label in model_choices()]
    return {
        "scan": scan,
        "top": DEFAULT_TOP,
        "ranked": ranking(scan),
        # Only the first MAX_DOCS are ranked here; the scan's report (above the panel) links every doc.
        "ranked_cut": scan.items.count() > MAX_DOCS,
        "max_docs": MAX_DOCS,
        "models": choices,
        "model": default_model(),
        "estimates": estimates(scan, DEFAULT_TOP),
    }


def start(scan_id: str, *, top: str, docs: list[str], model: str) -> Run:
    """The audit-doc run of the scan's top N, or of exactly ``docs`` when any are ticked."""
    params: dict[str, Any] = {"from_run": scan_id}
    if docs:
        params["doc"] = docs
    else:
        params["top"] = top or DEFAULT_TOP
    return engine.launch(engine.prepare_run(OPERATION, params, model=model or None))
