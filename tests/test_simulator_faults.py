"""Fault rules: HTTP failures the SDK must live with, and agents that misbehave in every way erkweb checks."""

from __future__ import annotations

import time

import anthropic
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from runs.management.commands.simulator import Command, is_loopback
from runs.operations.audit_scan.batchfile import BatchFileError, format_batch, parse_batch
from runs.operations.audit_scan.signals import measure
from runs.operations.base import final_message
from runs.simulator.faults import Rule, RuleBook, Target, parse_rule
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
RUN = "audit-scan-20261101-120000-abcd"


@pytest.fixture
def sim():
    with start_simulator() as handle:
        yield handle


@pytest.fixture
def tree(tmp_path):
    repo, docs = make_tree(tmp_path)
    return repo, docs, tmp_path


def run_batch(sim, tree, index=1, count=1, run_id=RUN, paths=PATHS, **kwargs):
    repo, docs, tmp = tree
    output = tmp / f"batch-{index}.md"
    tools = Tools(docs, repo, output)
    convo = drive(
        client(sim.url),
        tools,
        batch_message(output, list(paths), run_id=run_id, index=index, count=count),
        **kwargs,
    )
    return convo, tools, output


def expected_file(tree, paths=PATHS) -> str:
    repo, docs, _ = tree
    return format_batch(measure(p, (docs / p).read_text(), lambda rel: (repo / rel).exists()) for p in paths)


def hello(api):
    return api.messages.create(model=MODEL, max_tokens=50, messages=[{"role": "user", "content": "Hello"}])


# --- HTTP faults --------------------------------------------------------------------------------------


def test_rate_limit_with_retry_after_is_retried_by_the_sdk(sim):
    sim.set_rules([{"behaviour": "rate-limit", "times": 1}])
    started = time.monotonic()
    message = hello(client(sim.url, max_retries=2))
    assert message.type == "message"
    assert time.monotonic() - started >= 0.9  # the SDK waited the retry-after second
    assert sim.rules[0]["fired"] == 1 and sim.rules[0]["remaining"] == 0


def test_rate_limit_without_retries_raises_with_the_header(sim):
    sim.set_rules(["rate-limit"])
    with pytest.raises(anthropic.RateLimitError) as info:
        hello(client(sim.url))
    assert info.value.response.headers["retry-after"] == "1"
    assert info.value.body["error"]["type"] == "rate_limit_error"
    assert info.value.response.headers["erkweb-simulator"] == "1"


def test_overloaded_and_server_error(sim):
    sim.set_rules(["overloaded:times=1", "server-error:times=1"])
    with pytest.raises(anthropic.OverloadedError) as info:
        hello(client(sim.url))
    assert info.value.status_code == 529 and info.value.body["error"]["type"] == "overloaded_error"
    with pytest.raises(anthropic.InternalServerError) as info:
        hello(client(sim.url))
    assert info.value.status_code == 500 and info.value.body["error"]["type"] == "api_error"
    assert hello(client(sim.url)).type == "message"  # both used up


def test_drop_connection(sim):
    sim.set_rules(["drop-connection:times=1"])
    with pytest.raises(anthropic.APIConnectionError):
        hello(client(sim.url))
    assert hello(client(sim.url)).type == "message"


def test_slow(sim):
    sim.set_rules(["slow:latency_ms=300,times=1"])
    started = time.monotonic()
    hello(client(sim.url))
    assert time.monotonic() - started >= 0.3
    started = time.monotonic()
    hello(client(sim.url))
    assert time.monotonic() - started < 0.3


def test_http_faults_hit_only_their_batch(sim, tree):
    sim.set_rules([{"behaviour": "server-error", "batch": 2}])
    convo, _, output = run_batch(sim, tree, index=1, count=2)
    assert convo.final_text == final_message(str(output))
    with pytest.raises(anthropic.InternalServerError):
        run_batch(sim, tree, index=2, count=2)
    assert sim.rules[0]["fired"] == 1


def test_http_faults_can_hit_a_later_turn(sim, tree):
    # Fires on every request of run "other": none of RUN's; then a rule for RUN that fires on turn 1 and 2.
    sim.set_rules(
        [{"behaviour": "server-error", "run": "other"}, {"behaviour": "rate-limit", "run": RUN, "times": 2}]
    )
    with pytest.raises(anthropic.RateLimitError):
        run_batch(sim, tree)
    with pytest.raises(anthropic.RateLimitError):
        run_batch(sim, tree)
    convo, _, output = run_batch(sim, tree)
    assert convo.final_text == final_message(str(output))
    assert [rule["fired"] for rule in sim.rules] == [0, 2]


# --- misbehaviours ------------------------------------------------------------------------------------


def writes(tools):
    return [args for name, args in tools.calls if name == "write_file"]


def test_inline_answers_in_text_and_never_writes(sim, tree):
    sim.set_rules(["inline"])
    convo, tools, output = run_batch(sim, tree)
    assert convo.last.stop_reason == "end_turn"
    assert not writes(tools) and not output.exists()
    assert expected_file(tree).strip() in convo.final_text


def test_no_write_reads_then_claims_the_final_message(sim, tree):
    sim.set_rules(["no-write"])
    convo, tools, output = run_batch(sim, tree)
    assert [name for name, _ in tools.calls] == ["read_file"] * 3
    assert convo.final_text == final_message(str(output))
    assert not output.exists()


def test_empty_file(sim, tree):
    sim.set_rules(["empty-file"])
    convo, _, output = run_batch(sim, tree)
    assert convo.final_text == final_message(str(output))
    assert output.read_text() == ""
    with pytest.raises(BatchFileError, match="empty file"):
        parse_batch(output.read_text(), PATHS)


def test_malformed_file(sim, tree):
    sim.set_rules(["malformed-file"])
    convo, _, output = run_batch(sim, tree)
    assert convo.final_text == final_message(str(output))
    assert "lines: many" in output.read_text().split("\n\n")[1]
    with pytest.raises(BatchFileError, match="block 2: lines is not a whole number"):
        parse_batch(output.read_text(), PATHS)


def test_missing_item(sim, tree):
    sim.set_rules(["missing-item"])
    convo, _, output = run_batch(sim, tree)
    assert convo.final_text == final_message(str(output))
    assert output.read_text() == expected_file(tree, PATHS[:-1])
    with pytest.raises(BatchFileError, match=f"missing: {PATHS[-1]}"):
        parse_batch(output.read_text(), PATHS)


def test_write_outside(sim, tree):
    sim.set_rules(["write-outside"])
    convo, tools, output = run_batch(sim, tree)
    assert writes(tools) == [{"path": "../../escape.md", "content": expected_file(tree)}]
    refused = convo.messages[-2]["content"][0]
    assert refused["is_error"] is True and refused["content"].startswith("error: ")
    assert convo.last.stop_reason == "end_turn"
    assert convo.final_text != final_message(str(output))
    assert not output.exists()
    assert not (tree[2] / "escape.md").exists()


def test_max_tokens_stops_mid_write(sim, tree):
    sim.set_rules(["max-tokens"])
    convo, tools, output = run_batch(sim, tree)
    assert [r.stop_reason for r in convo.responses] == ["tool_use", "tool_use", "max_tokens"]
    cut = [block for block in convo.last.content if block.type == "tool_use"]
    assert cut[0].name == "write_file"
    assert 0 < len(cut[0].input["content"]) < len(expected_file(tree))
    assert not writes(tools) and not output.exists()


def test_wrong_final(sim, tree):
    sim.set_rules(["wrong-final"])
    convo, _, output = run_batch(sim, tree)
    assert output.read_text() == expected_file(tree)
    assert convo.final_text == "Done! All docs measured."


def test_refusal(sim, tree):
    sim.set_rules(["refusal"])
    convo, tools, _ = run_batch(sim, tree)
    assert len(convo.responses) == 1
    assert convo.last.stop_reason == "refusal"
    assert convo.last.stop_details.type == "refusal"
    assert not tools.calls


def test_misbehaviours_hit_only_their_batch_and_times(sim, tree):
    sim.set_rules(["empty-file:batch=2,times=1"])
    _, _, out1 = run_batch(sim, tree, index=1, count=3, paths=PATHS[:1])
    _, _, out2 = run_batch(sim, tree, index=2, count=3, paths=PATHS[1:2])
    assert out1.read_text() == expected_file(tree, PATHS[:1])
    assert out2.read_text() == ""
    # Used up: the retry of batch 2 behaves.
    _, _, out3 = run_batch(sim, tree, index=2, count=3, paths=PATHS[1:2])
    assert out3.read_text() == expected_file(tree, PATHS[1:2])
    assert sim.rules[0]["fired"] == 1


def test_a_misbehaviour_is_kept_for_the_whole_conversation(sim, tree):
    """Chosen at the first request, then read back from the conversation; other conversations started
    meanwhile do not change it, and neither does dropping the thinking blocks."""
    repo, docs, tmp = tree
    sim.set_rules(["wrong-final:times=1"])
    output = tmp / "batch-1.md"
    tools = Tools(docs, repo, output)
    api = client(sim.url)
    messages = [{"role": "user", "content": batch_message(output, PATHS)}]
    for _turn in range(5):
        response = api.messages.create(
            model=MODEL, max_tokens=8000, system=system_blocks(), tools=TOOLS, messages=messages
        )
        run_batch(sim, tree, index=2, count=2, paths=PATHS[:1])  # a well-behaved batch in between
        if response.stop_reason != "tool_use":
            break
        kept = [b for b in sendable(response.content) if b["type"] != "thinking"]
        messages.append({"role": "assistant", "content": kept})
        messages.append(
            {"role": "user", "content": [tools.run(b) for b in response.content if b.type == "tool_use"]}
        )
    assert response.content[0].text == "Done! All docs measured."
    assert output.read_text() == expected_file(tree)


def test_rules_can_be_set_over_http_while_running(sim, tree):
    import json
    import urllib.request

    request = urllib.request.Request(
        sim.url + "/_simulator/rules",
        data=json.dumps({"rules": ["missing-item:times=1"], "mode": "add"}).encode(),
        method="POST",
        headers={"content-type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=5) as response:
        assert json.loads(response.read())["rules"][0]["behaviour"] == "missing-item"
    _, _, output = run_batch(sim, tree)
    assert output.read_text() == expected_file(tree, PATHS[:-1])


# --- rules and the command ----------------------------------------------------------------------------


def test_parse_rule():
    assert parse_rule("empty-file:batch=2,times=1") == Rule("empty-file", batch=2, times=1)
    assert parse_rule("rate-limit") == Rule("rate-limit")
    assert parse_rule(" slow:latency-ms=250 , run=audit-scan-2026") == Rule(
        "slow", run="audit-scan-2026", latency_ms=250
    )
    for bad, message in [
        ("explode", "unknown behaviour 'explode'"),
        ("slow:latency_ms=fast", "latency_ms must be a whole number"),
        ("slow:speed=2", "unknown rule key 'speed'"),
        ("slow:times", "is not key=value"),
        ("empty-file:batch=0", "batch numbers start at 1"),
        ("empty-file:times=-1", "whole number >= 0"),
    ]:
        with pytest.raises(ValueError, match=message):
            parse_rule(bad)


def test_rule_matching_and_times():
    book = RuleBook(
        [{"behaviour": "overloaded", "run": "scan-1", "batch": 3, "times": 2}, "slow:latency_ms=5"]
    )
    assert book.take_http(Target("audit-scan-2", 3)).fault is None  # slow only
    assert book.take_http(Target("audit-scan-2", 3)).delay_ms == 5
    assert book.take_http(Target(None, None)).fault is None
    hits = [book.take_http(Target("audit-scan-1", 3)).fault for _ in range(3)]
    assert [fault and fault.status for fault in hits] == [529, 529, None]
    assert book.as_list()[0]["remaining"] == 0
    assert book.take_misbehaviour(Target("x", 1)) is None
    book.add(["refusal:batch=1"])
    assert book.take_misbehaviour(Target("x", 2)) is None
    assert book.take_misbehaviour(Target("x", 1), frozenset({"inline"})) is None  # not playable there
    assert book.take_misbehaviour(Target("x", 1)).behaviour == "refusal"


def test_command_parses_repeated_rules_and_flags():
    parser = Command().create_parser("manage.py", "simulator")
    options = parser.parse_args(
        [
            "--rule",
            "empty-file:batch=2,times=1",
            "--rule",
            "rate-limit",
            "--port",
            "9000",
            "--latency-ms",
            "50",
        ]
    )
    assert options.rules == [Rule("empty-file", batch=2, times=1), Rule("rate-limit")]
    assert (options.host, options.port, options.latency_ms, options.allow_remote) == (
        "127.0.0.1",
        9000,
        50,
        False,
    )
    defaults = parser.parse_args([])
    assert (defaults.host, defaults.port, defaults.latency_ms, defaults.rules) == ("127.0.0.1", 8765, 0, [])
    assert defaults.no_quirks is False and parser.parse_args(["--no-quirks"]).no_quirks is True
    assert parser.parse_args(["--rule", "rate-limit:retry_after=3600"]).rules == [
        Rule("rate-limit", retry_after=3600)
    ]
    help_text = parser.format_help()
    for name in (
        "break-stream",
        "stream-error",
        "spend-limit",
        "pause-turn",
        "context-exceeded",
        "--no-quirks",
    ):
        assert name in help_text


def test_new_rule_keys_apply_only_where_they_mean_something():
    assert parse_rule("break-stream:after_events=4").after_events == 4
    with pytest.raises(ValueError, match="retry_after applies to rate-limit only"):
        parse_rule("overloaded:retry_after=5")
    with pytest.raises(ValueError, match="after_events applies to break-stream and stream-error only"):
        parse_rule("rate-limit:after_events=5")


def test_command_refuses_bad_rules_and_remote_hosts():
    with pytest.raises(CommandError, match="unknown behaviour 'nope'"):
        call_command("simulator", "--rule", "nope")
    with pytest.raises(CommandError, match="not a loopback address"):
        call_command("simulator", "--host", "0.0.0.0")
    with pytest.raises(CommandError, match="not a loopback address"):
        call_command("simulator", "--host", "example.com")
    assert (
        is_loopback("127.0.0.1")
        and is_loopback("::1")
        and is_loopback("localhost")
        and is_loopback("127.0.0.2")
    )
    assert not is_loopback("192.168.1.2") and not is_loopback("0.0.0.0")


def test_a_rule_can_target_one_model():
    from runs.simulator.faults import Rule, Target, parse_rule

    rule = parse_rule("miscount:model=haiku")
    assert rule.model == "haiku"
    assert rule.matches(Target(run_id="r", batch=1, model="claude-haiku-5-5"))
    assert not rule.matches(Target(run_id="r", batch=1, model="claude-sonnet-5-5"))
    assert not rule.matches(Target())
    assert Rule.from_dict(rule.to_dict() | {"fired": 0}).model == "haiku"
