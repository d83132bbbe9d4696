"""One batch's agent, wired to its run: the limits from settings, the endpoint the run recorded, the
conversation from the operation's prompts; the engine hands it the hooks through which the loop stops
and records (runs/attempt.py)."""

from django.conf import settings

from ..models import Batch, Run
from ..operations.base import Operation
from ..tools import Toolbox
from .agent import Hooks, Limits, Outcome, run_agent
from .conversation import Conversation
from .endpoint import endpoint_for_run, make_client


def run_batch_agent(run: Run, batch: Batch, toolbox: Toolbox, op: Operation, hooks: Hooks) -> Outcome:
    """Run the batch's agent to its final message (AgentFailed / AgentStopped otherwise), reaching the
    batch's rows through ``hooks`` (the engine's: every write fenced by the attempt's number)."""
    limits = Limits(
        max_turns=settings.ERKWEB_AGENT_MAX_TURNS,
        max_output_tokens=settings.ERKWEB_AGENT_MAX_OUTPUT_TOKENS,
        time_limit_s=settings.ERKWEB_BATCH_TIME_LIMIT,
        max_retries=settings.ERKWEB_API_MAX_RETRIES,
    )
    # The run's recorded endpoint, not this worker's environment (which may point elsewhere).
    endpoint = endpoint_for_run(run.manifest.get("api_base_url"), bool(run.manifest.get("simulator")))
    conversation = Conversation.start(
        model=batch.model_id,
        max_tokens=limits.max_output_tokens,
        max_turns=limits.max_turns,
        system=op.system_prompt(run, batch),
        user_message=op.batch_message(run, batch),
        tools=toolbox.schemas,
        expected_final=op.expected_final(batch),
    )
    # Costed with the price table the manifest recorded when the run was created, so a change of prices
    # since then does not make the manifest wrong about this run.
    prices = run.manifest["stage_models"][str(batch.stage)]["prices"]
    return run_agent(
        make_client(endpoint, timeout=float(limits.time_limit_s)),
        conversation,
        toolbox,
        limits=limits,
        prices=prices,
        hooks=hooks,
    )
