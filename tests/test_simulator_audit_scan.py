"""The simulated audit-scan agent, driven through a real tool-use loop over real sockets."""

from __future__ import annotations

import itertools

import anthropic
import pytest

from runs.operations.audit_scan import prompts
from runs.operations.audit_scan.batchfile import format_batch, parse_batch
from runs.operations.audit_scan.signals import measure
from runs.operations.base import final_message
from runs.simulator import tokens
from runs.simulator.server import start_simulator
from tests.simulator_fixtures import (
    DOCS,
    MODEL,
    TOOLS,
    Tools,
    batch_message,
    client,
    drive,
    make_tree,
    sendable,
    system_blocks,
)

PATHS = sorted(DOCS)


@pytest.fixture
def sim():
    with start_simulator() as handle:
        yield handle


@pytest.fixture
def tree(tmp_path):
    repo, docs = make_tree(tmp_path)
    return repo, docs, tmp_path


def expected_file(repo, docs, paths) -> str:
    return format_batch(
        measure(path, (docs / path).read_text(), lambda rel: (repo / rel).exists()) for path in paths
    )


def test_a_full_batch_takes_four_turns_and_writes_exact_numbers(sim, tree):
    repo, docs, tmp = tree
    output = tmp / "batch-1.md"
    tools = Tools(docs, repo, output)
    convo = drive(client(sim.url), tools, batch_message(output, PATHS))

    assert [r.stop_reason for r in convo.responses] == ["tool_use", "tool_use", "tool_use", "end_turn"]
    # The blocks as the loop sends them back (without the empty text blocks the quirk adds).
    turns = [sendable(r.content) for r in convo.responses]
    kinds = [[block["type"] for block in turn] for turn in turns]
    # Turn 1: a thinking block, then every read at once.
    assert kinds[0] == ["thinking", "tool_use", "tool_use", "tool_use"]
    assert [b["input"]["path"] for b in turns[0][1:]] == PATHS
    assert {b["name"] for b in turns[0][1:]} == {"read_file"}
    # Turn 2: every distinct candidate path, checked at once.
    turn2 = turns[1]
    assert turn2[0]["type"] == "thinking"
    assert [b["input"]["path"] for b in turn2[1:]] == [
        "src/app.py",
        "tests/missing_test.py",
        "packages/core",
        ".claude/commands/ghost.md",
    ]
    assert {b["name"] for b in turn2[1:]} == {"path_exists"}
    # Turn 3: one write with the exact file; turn 4: the final message.
    assert kinds[2] == ["thinking", "tool_use"]
    write = turns[2][1]
    assert write["name"] == "write_file" and write["input"]["path"] == str(output)
    assert output.read_text() == expected_file(repo, docs, PATHS)
    parse_batch(output.read_text(), PATHS)  # and it verifies
    assert kinds[3] == ["text"]
    assert convo.final_text == final_message(str(output))

    # Thinking blocks were sent back unchanged (the loop sends model_dump of each block) and accepted.
    sent_back = convo.requests[-1][1]["content"][0]
    assert sent_back["type"] == "thinking" and sent_back["signature"]
    assert [name for name, _ in tools.calls].count("write_file") == 1

    # Output tokens are the tokens of what was emitted.
    for response in convo.responses:
        emitted = [block.model_dump(mode="json", exclude_none=True) for block in response.content]
        assert response.usage.output_tokens == tokens.count_output(emitted)


def test_tool_results_as_text_blocks_give_the_same_file(sim, tree):
    repo, docs, tmp = tree
    output = tmp / "batch-1.md"
    convo = drive(
        client(sim.url), Tools(docs, repo, output, read_as_blocks=True), batch_message(output, PATHS)
    )
    assert convo.final_text == final_message(str(output))
    assert output.read_text() == expected_file(repo, docs, PATHS)


def test_a_tampered_thinking_block_is_refused(sim, tree):
    repo, docs, tmp = tree
    output = tmp / "batch-1.md"
    api = client(sim.url)
    convo = drive(api, Tools(docs, repo, output), batch_message(output, PATHS), max_turns=1)
    assistant = convo.messages[1]
    tampered = [dict(block) for block in assistant["content"]]
    tampered[0]["thinking"] += " (edited)"
    results = [
        {"type": "tool_result", "tool_use_id": block["id"], "content": "text"}
        for block in tampered
        if block["type"] == "tool_use"
    ]
    messages = [
        convo.messages[0],
        {"role": "assistant", "content": tampered},
        {"role": "user", "content": results},
    ]
    with pytest.raises(anthropic.BadRequestError, match="Invalid `signature` in `thinking` block"):
        api.messages.create(
            model=MODEL, max_tokens=4000, system=system_blocks(), tools=TOOLS, messages=messages
        )
    # The same turn sent back unchanged is accepted.
    messages[1] = assistant
    assert api.messages.create(
        model=MODEL, max_tokens=4000, system=system_blocks(), tools=TOOLS, messages=messages
    )


def test_cache_usage_across_batches_and_turns(sim, tree):
    repo, docs, tmp = tree
    api = client(sim.url)
    prefix = sum(tokens.count_tool(tool) for tool in TOOLS) + tokens.count_text(prompts.SYSTEM_PROMPT)

    out1 = tmp / "batch-1.md"
    first = drive(api, Tools(docs, repo, out1), batch_message(out1, PATHS[:2], index=1, count=2))
    usage = [r.usage for r in first.responses]
    # The first request of the first batch writes everything up to its last breakpoint.
    assert usage[0].cache_read_input_tokens == 0
    assert usage[0].cache_creation_input_tokens > prefix
    assert usage[0].cache_creation.ephemeral_5m_input_tokens == usage[0].cache_creation_input_tokens
    # Each later turn reads everything the turn before it wrote or read.
    for before, after in itertools.pairwise(usage):
        assert (
            after.cache_read_input_tokens
            == before.cache_read_input_tokens + before.cache_creation_input_tokens
        )
        assert after.cache_creation_input_tokens > 0
    for response, sent in zip(first.responses, first.requests, strict=True):
        total = tokens.count_request({"tools": TOOLS, "system": system_blocks(), "messages": sent})
        u = response.usage
        assert u.input_tokens + u.cache_creation_input_tokens + u.cache_read_input_tokens == total

    # The second batch of the same run reads the shared system prompt (and tools) from the cache.
    out2 = tmp / "batch-2.md"
    second = drive(api, Tools(docs, repo, out2), batch_message(out2, PATHS[2:], index=2, count=2))
    assert second.responses[0].usage.cache_read_input_tokens == prefix
    assert second.final_text == final_message(str(out2))
    assert out2.read_text() == expected_file(repo, docs, PATHS[2:])


def test_a_doc_that_cannot_be_read_is_left_out(sim, tree):
    repo, docs, tmp = tree
    output = tmp / "batch-1.md"
    paths = ["alpha.md", "gone.md", "delta.md"]
    convo = drive(client(sim.url), Tools(docs, repo, output), batch_message(output, paths))
    assert convo.final_text == final_message(str(output))
    assert output.read_text() == expected_file(repo, docs, ["alpha.md", "delta.md"])


def test_without_path_references_it_goes_straight_to_the_write(sim, tree):
    repo, docs, tmp = tree
    output = tmp / "batch-1.md"
    convo = drive(client(sim.url), Tools(docs, repo, output), batch_message(output, ["delta.md"]))
    assert [r.stop_reason for r in convo.responses] == ["tool_use", "tool_use", "end_turn"]
    assert convo.responses[1].content[-1].name == "write_file"
    assert output.read_text() == expected_file(repo, docs, ["delta.md"])


def test_turns_are_stateless_and_survive_a_restart(tree):
    repo, docs, tmp = tree
    output = tmp / "batch-1.md"
    tools = Tools(docs, repo, output)
    with start_simulator() as first:
        convo = drive(client(first.url), tools, batch_message(output, PATHS), max_turns=1)
    messages = list(convo.messages)  # the first turn, and the results of its reads
    assert [m["role"] for m in messages] == ["user", "assistant", "user"]
    with start_simulator() as second:
        api = client(second.url)
        for _ in range(4):
            response = api.messages.create(
                model=MODEL, max_tokens=8000, system=system_blocks(), tools=TOOLS, messages=messages
            )
            messages.append({"role": "assistant", "content": sendable(response.content)})
            if response.stop_reason != "tool_use":
                break
            messages.append(
                {"role": "user", "content": [tools.run(b) for b in response.content if b.type == "tool_use"]}
            )
    assert response.content[0].text == final_message(str(output))
    assert output.read_text() == expected_file(repo, docs, PATHS)


def test_thinking_off_means_no_thinking_blocks(sim, tree):
    repo, docs, tmp = tree
    output = tmp / "batch-1.md"
    api = client(sim.url)
    tools = Tools(docs, repo, output)
    messages = [{"role": "user", "content": batch_message(output, PATHS)}]
    for _ in range(5):
        response = api.messages.create(
            model=MODEL,
            max_tokens=8000,
            system=system_blocks(),
            tools=TOOLS,
            messages=messages,
            thinking={"type": "disabled"},
        )
        assert "thinking" not in [block.type for block in response.content]
        if response.stop_reason != "tool_use":
            break
        messages.append({"role": "assistant", "content": sendable(response.content)})
        messages.append(
            {"role": "user", "content": [tools.run(b) for b in response.content if b.type == "tool_use"]}
        )
    assert response.content[0].text == final_message(str(output))


def test_a_small_max_tokens_cuts_the_write(sim, tree):
    repo, docs, tmp = tree
    output = tmp / "batch-1.md"
    convo = drive(client(sim.url), Tools(docs, repo, output), batch_message(output, PATHS), max_tokens=150)
    assert [r.stop_reason for r in convo.responses] == ["tool_use", "tool_use", "max_tokens"]
    assert convo.last.usage.output_tokens <= 150
    cut = [block for block in convo.last.content if block.type == "tool_use"]
    assert cut and len(cut[0].input["content"]) < len(expected_file(repo, docs, PATHS))
    assert not output.exists()


def test_a_conversation_without_an_assignment_gets_a_plain_answer(sim):
    api = client(sim.url)
    response = api.messages.create(
        model=MODEL,
        max_tokens=500,
        system=system_blocks(),
        tools=TOOLS,
        messages=[{"role": "user", "content": "hi"}],
    )
    assert response.stop_reason == "end_turn"
    assert "could not find my batch assignment" in response.content[0].text
