"""learn's agents: who they are, which stage they run in, what they write (specs/learn.md).

The names here are the contract between the operation, the verification of each file, the ``local``
executor and the simulator's player.
"""

from dataclasses import dataclass

SESSION, DIFF, DOCS, COMMENTS, GAPS, PLAN, TRIPWIRES = (
    "session-analyzer",
    "diff-analyzer",
    "docs-checker",
    "comments-analyzer",
    "gap-identifier",
    "plan-synthesizer",
    "tripwire-extractor",
)

STAGE_OF = {SESSION: 1, DIFF: 1, DOCS: 1, COMMENTS: 1, GAPS: 2, PLAN: 3, TRIPWIRES: 4}
STAGES = (1, 2, 3, 4)
STAGE_NAMES = {1: "analysers", 2: "gap identifier", 3: "plan synthesizer", 4: "tripwire extractor"}

# Fixed output files (relative to the run's learn-agents/ folder); session analyses are named per chunk.
OUTPUT_FILE = {
    DIFF: "diff-analysis.md",
    DOCS: "existing-docs-check.md",
    COMMENTS: "pr-comments-analysis.md",
    GAPS: "gap-analysis.md",
    PLAN: "learn-plan.md",
    TRIPWIRES: "tripwire-candidates.json",
}

HEADINGS = {
    SESSION: (
        "Patterns Discovered",
        "Errors Resolved",
        "User Corrections",
        "Documentation Opportunities",
        "Tripwire Candidates",
    ),
    DIFF: ("Inventory", "Documentation Summary", "Recommended Documentation Items"),
    DOCS: ("Summary", "Existing Documentation Found", "Duplicate Warnings", "Contradiction Warnings"),
    COMMENTS: ("Documentation Opportunities", "Key Insights"),
    GAPS: ("Summary Statistics", "Enumerated Items", "Tripwire Candidates"),
    PLAN: ("Context", "Summary", "Documentation Items", "Tripwire Insights"),
}

CLASSIFICATIONS = ("NEW_DOC", "UPDATE_EXISTING", "TRIPWIRE", "SKIP")
PRIORITIES = ("HIGH", "MEDIUM", "LOW")
GAP_COLUMNS = ("#", "Item", "Classification", "Priority", "Source")
ITEMS_HEADING = "Enumerated Items"  # the gap analysis's table
PLAN_ITEMS_HEADING = "Documentation Items"
PLAN_TITLE_PREFIX = "# Documentation Plan: "  # the learn plan's first line, then the title
CANDIDATE_FIELDS = ("action", "warning", "target_doc_path")  # of each tripwire candidate

AGENTS_DIR = "learn-agents"  # inside the run's scratch folder
SESSIONS_DIR = "sessions"  # preprocessed chunks, inside the run's scratch folder
DIFF_FILE = "diff.patch"
LOG_FILE = "log.txt"
COMMENTS_FILE = "comments.json"


@dataclass(frozen=True)
class AgentSpec:
    """One agent of a learn run, as planned: its kind, its stage, what it reads and what it writes."""

    kind: str
    reads: tuple[str, ...]  # paths relative to the run's scratch folder
    output: str  # path relative to the run's scratch folder

    @property
    def stage(self) -> int:
        return STAGE_OF[self.kind]


def session_output(chunk_name: str) -> str:
    """``session-<id>-part<k>.xml`` is analysed into ``learn-agents/session-<id>-part<k>.md``."""
    stem = chunk_name.rsplit("/", 1)[-1].removesuffix(".xml")
    return f"{AGENTS_DIR}/{stem}.md"
