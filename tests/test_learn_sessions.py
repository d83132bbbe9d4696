"""learn's session preprocessing: Claude Code logs into XML chunks (specs/learn.md, "Preprocessing")."""

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from runs.errors import InputError
from runs.operations.learn.chunks import (
    CHARS_PER_TOKEN,
    CHUNK_TOKENS,
    ERROR_WORDS,
    PARAM_CHARS,
    RESULT_HEAD_LINES,
    chunk_elements,
    to_xml,
)
from runs.operations.learn.sessions import (
    default_sessions_dir,
    discover_sessions,
    preprocess,
    read_session,
    session_id_of,
)

SID = "0b6f2c1e-aaaa-bbbb-cccc-123456789abc"


# --- fixtures: small logs built from dicts ------------------------------------------------------------


def user(content, sid=SID, **extra) -> dict:
    return {"type": "user", "sessionId": sid, "message": {"role": "user", "content": content}, **extra}


def assistant(content, sid=SID) -> dict:
    if isinstance(content, str):
        content = [{"type": "text", "text": content}]
    return {"type": "assistant", "sessionId": sid, "message": {"role": "assistant", "content": content}}


def tool_use(name: str, **params) -> dict:
    return {"type": "tool_use", "id": "toolu_1", "name": name, "input": params}


def tool_result(content, is_error=False) -> dict:
    return {"type": "tool_result", "tool_use_id": "toolu_1", "content": content, "is_error": is_error}


def write_log(path: Path, records: list) -> Path:
    """Write records as JSON lines; a str record is written as it is (for broken lines)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = [r if isinstance(r, str) else json.dumps(r) for r in records]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def conversation(sid=SID) -> list[dict]:
    return [
        user("Please fix the flaky test", sid),
        assistant([{"type": "thinking", "thinking": "secret plan"}, tool_use("Bash", command="pytest")], sid),
        user([tool_result("1 failed")], sid),
        assistant("Fixed it.", sid),
    ]


# --- which lines are kept -----------------------------------------------------------------------------


def test_only_user_and_assistant_lines_of_the_session_are_kept():
    records = [
        {"type": "summary", "summary": "Old summary", "leafUuid": "x"},
        {"type": "file-history-snapshot", "messageId": "m", "snapshot": {}},
        {"type": "system", "sessionId": SID, "content": "system note", "subtype": "info"},
        user("hello from this session"),
        user("hello from another session", sid="other-session"),
        {"type": "user", "message": {"role": "user", "content": "no session id"}},
        assistant("answer"),
        assistant("answer to the other one", sid="other-session"),
    ]
    elements, counts = to_xml(records, SID)
    assert elements == ["<user>hello from this session</user>", "<assistant>answer</assistant>"]
    assert counts.lines_kept == 2
    assert counts.user_texts == 1


def test_thinking_is_dropped_and_blocks_keep_their_order():
    elements, _ = to_xml(conversation(), SID)
    assert elements == [
        "<user>Please fix the flaky test</user>",
        '<tool_use name="Bash">command: pytest</tool_use>',
        "<tool_result>1 failed</tool_result>",
        "<assistant>Fixed it.</assistant>",
    ]
    assert not any("secret plan" in element for element in elements)


def test_a_user_line_with_only_tool_results_is_not_user_text():
    _, counts = to_xml([user([tool_result("output")]), assistant("ok")], SID)
    assert counts.user_texts == 0
    assert counts.lines_kept == 2


def test_user_text_blocks_and_string_content_both_count_and_blank_text_does_not():
    records = [
        user("   \n "),
        user([{"type": "text", "text": "  from a block  "}, {"type": "image", "source": {"data": "AAA"}}]),
    ]
    elements, counts = to_xml(records, SID)
    assert elements == ["<user>from a block</user>"]
    assert counts.user_texts == 1


# --- tool_use -----------------------------------------------------------------------------------------


def test_tool_use_has_one_line_per_parameter_cut_to_200_characters():
    long = "x" * (PARAM_CHARS + 50)
    block = tool_use("Write", file_path="/a.py", content=long, exact="y" * PARAM_CHARS, flags={"n": 1})
    [element], _ = to_xml([assistant([block])], SID)
    body = element.removeprefix('<tool_use name="Write">').removesuffix("</tool_use>")
    assert body.split("\n") == [
        "file_path: /a.py",
        "content: " + "x" * PARAM_CHARS + "...",
        "exact: " + "y" * PARAM_CHARS,
        'flags: {"n": 1}',
    ]


def test_non_string_values_are_cut_after_being_written_as_json():
    block = tool_use("Edit", edits=[{"old": "a" * 300}])
    [element], _ = to_xml([assistant([block])], SID)
    value = element.split("edits: ", 1)[1].removesuffix("</tool_use>")
    assert value == json.dumps([{"old": "a" * 300}])[:PARAM_CHARS] + "..."


def test_line_breaks_inside_a_value_keep_the_parameter_on_one_line():
    block = tool_use("Bash", command="cd x\nmake test", description="run")
    [element], _ = to_xml([assistant([block])], SID)
    assert element == '<tool_use name="Bash">command: cd x\\nmake test\ndescription: run</tool_use>'


def test_tool_use_without_input():
    [element], _ = to_xml([assistant([{"type": "tool_use", "name": "Noop", "input": {}}])], SID)
    assert element == '<tool_use name="Noop"></tool_use>'


# --- tool_result --------------------------------------------------------------------------------------


def test_short_result_is_kept_whole_and_list_content_is_joined():
    content = [{"type": "text", "text": "line 1\nline 2"}, {"type": "text", "text": "line 3"}]
    [element], _ = to_xml([user([tool_result(content)])], SID)
    assert element == "<tool_result>line 1\nline 2\nline 3</tool_result>"


def test_result_keeps_its_head_then_only_error_lines_with_omission_markers():
    lines = [f"head {i}" for i in range(RESULT_HEAD_LINES)]
    later = [
        "noise 1",
        "noise 2",
        "E   AssertionError: boom",
        "noise 3",
        "Traceback (most recent call last):",
        "an EXCEPTION happened",
        "build FAILED",
        "fatal: not a git repository",
        "noise 4",
        "noise 5",
        "noise 6",
    ]
    [element], _ = to_xml([user([tool_result("\n".join(lines + later) + "\n")])], SID)
    body = element.removeprefix("<tool_result>").removesuffix("</tool_result>").split("\n")
    assert body == [
        *lines,
        "[... 2 lines omitted ...]",
        "E   AssertionError: boom",
        "[... 1 line omitted ...]",
        "Traceback (most recent call last):",
        "an EXCEPTION happened",
        "build FAILED",
        "fatal: not a git repository",
        "[... 3 lines omitted ...]",
    ]


@pytest.mark.parametrize("word", ERROR_WORDS)
def test_each_error_word_keeps_a_later_line_in_any_case(word):
    lines = ["x"] * RESULT_HEAD_LINES + ["quiet", f"Saw {word.upper()} here", f"also {word.title()}"]
    [element], _ = to_xml([user([tool_result("\n".join(lines))])], SID)
    assert element.endswith(
        f"[... 1 line omitted ...]\nSaw {word.upper()} here\nalso {word.title()}</tool_result>"
    )


def test_exactly_the_head_is_not_marked():
    lines = [str(i) for i in range(RESULT_HEAD_LINES)]
    [element], _ = to_xml([user([tool_result("\n".join(lines))])], SID)
    assert "omitted" not in element


# --- escaping -----------------------------------------------------------------------------------------


def test_text_is_xml_escaped_and_attributes_escape_quotes():
    records = [
        user('if a < b && c > "d" then'),
        assistant([tool_use('mcp__x"<y>&z', query="a<b & 'c'")]),
        user([tool_result("<html>&nbsp;</html>")]),
    ]
    elements, _ = to_xml(records, SID)
    assert elements == [
        '<user>if a &lt; b &amp;&amp; c &gt; "d" then</user>',
        "<tool_use name=\"mcp__x&quot;&lt;y&gt;&amp;z\">query: a&lt;b &amp; 'c'</tool_use>",
        "<tool_result>&lt;html&gt;&amp;nbsp;&lt;/html&gt;</tool_result>",
    ]
    for element in elements:
        ET.fromstring(element)  # well-formed
    assert ET.fromstring(elements[1]).get("name") == 'mcp__x"<y>&z'


def test_characters_xml_cannot_hold_are_replaced_so_chunks_parse():
    elements, _ = to_xml([user("colour \x1b[31mred\x1b[0m \ud800 done")], SID)
    assert elements == ["<user>colour \ufffd[31mred\ufffd[0m \ufffd done</user>"]
    [chunk] = chunk_elements(elements, SID)
    ET.fromstring(chunk.text)


# --- chunks -------------------------------------------------------------------------------------------


def wrapper_size(part=1) -> int:
    return len(f'<session id="{SID}" part="{part}">\n') + len("\n</session>\n")


def test_one_chunk_wraps_the_elements_and_is_named_part1():
    elements = ["<user>a</user>", "<assistant>b</assistant>"]
    [chunk] = chunk_elements(elements, SID)
    assert chunk.name == f"session-{SID}-part1.xml"
    assert (chunk.session_id, chunk.part) == (SID, 1)
    assert (
        chunk.text == f'<session id="{SID}" part="1">\n<user>a</user>\n<assistant>b</assistant>\n</session>\n'
    )
    root = ET.fromstring(chunk.text)
    assert [child.tag for child in root] == ["user", "assistant"]


def test_default_limit_is_20000_tokens_of_4_characters():
    assert CHUNK_TOKENS * CHARS_PER_TOKEN == 80_000
    elements = [f"<user>{'x' * 9_000}</user>"] * 20
    chunks = chunk_elements(elements, SID)
    assert all(len(chunk.text) <= 80_000 for chunk in chunks)
    assert len(chunks) == 3


def test_chunks_split_on_element_boundaries_within_the_limit():
    elements = [f"<user>{i:02d}{'x' * 40}</user>" for i in range(10)]  # 55 characters each
    max_chars = wrapper_size() + 3 * 55 + 2  # room for exactly three elements and their separators
    chunks = chunk_elements(elements, SID, max_chars=max_chars)
    assert [chunk.name for chunk in chunks] == [f"session-{SID}-part{k}.xml" for k in (1, 2, 3, 4)]
    assert [chunk.part for chunk in chunks] == [1, 2, 3, 4]
    assert all(len(chunk.text) <= max_chars for chunk in chunks)
    assert len(chunks[0].text) == max_chars
    rejoined = [child for chunk in chunks for child in ET.fromstring(chunk.text)]
    assert [f"<{child.tag}>{child.text}</{child.tag}>" for child in rejoined] == elements


def test_an_oversize_element_gets_a_chunk_of_its_own_cut_to_the_limit():
    big = "<tool_result>" + "a&amp;" * 200 + "</tool_result>"
    elements = ["<user>before</user>", big, "<user>after</user>"]
    max_chars = wrapper_size() + 300
    chunks = chunk_elements(elements, SID, max_chars=max_chars)
    assert len(chunks) == 3
    assert ET.fromstring(chunks[0].text)[0].text == "before"
    assert ET.fromstring(chunks[2].text)[0].text == "after"
    cut = chunks[1].text
    assert len(cut) <= max_chars
    assert f"[... element cut: it had {len(big)} characters ...]</tool_result>\n</session>" in cut
    root = ET.fromstring(cut)  # never cut inside an entity
    assert root[0].tag == "tool_result"
    assert root[0].text.startswith("a&a&")


def test_no_elements_no_chunks_and_a_limit_too_small_is_a_programming_error():
    assert chunk_elements([], SID) == []
    with pytest.raises(ValueError):
        chunk_elements(["<user>" + "x" * 100 + "</user>"], SID, max_chars=wrapper_size() + 10)


def test_chunk_wrapper_escapes_the_session_id():
    [chunk] = chunk_elements(["<user>a</user>"], 'we"ird&id')
    assert chunk.text.startswith('<session id="we&quot;ird&amp;id" part="1">')
    assert chunk.name == 'session-we"ird&id-part1.xml'


# --- reading ------------------------------------------------------------------------------------------


def test_read_session_skips_blank_lines_and_keeps_unicode_line_separators(tmp_path):
    path = tmp_path / f"{SID}.jsonl"
    path.write_text(json.dumps(user("a\u2028b"), ensure_ascii=False) + "\n\n" + json.dumps(user("c")) + "\n")
    records = read_session(path)
    assert [r["message"]["content"] for r in records] == ["a\u2028b", "c"]


@pytest.mark.parametrize("bad", ["{not json", "[1, 2]", '"text"'])
def test_a_line_that_is_not_a_json_object_names_the_file_and_line(tmp_path, bad):
    path = write_log(tmp_path / f"{SID}.jsonl", [user("a"), assistant("b"), bad])
    with pytest.raises(InputError, match=r"is not JSON lines: line 3") as info:
        read_session(path)
    assert info.value.field == "sessions"
    assert str(path) in str(info.value)


def test_session_id_is_the_file_stem(tmp_path):
    path = tmp_path / f"{SID}.jsonl"
    # The stem is among the ids the lines carry: lines of other sessions do not make it another session.
    assert session_id_of(path, [user("a", sid="something-else"), user("b")]) == SID
    assert session_id_of(path, [user("a", sid="one"), user("b", sid="two")]) == SID
    assert session_id_of(path, []) == SID


def test_a_renamed_log_is_the_session_its_lines_name(tmp_path):
    """issue 8 point 7: ``session-<sessionId>.jsonl`` (a rename of Claude Code's ``<sessionId>.jsonl``)
    whose user and assistant lines all carry one sessionId is that session; lines without an id, or
    lines of other types, do not count."""
    renamed = tmp_path / f"session-{SID}.jsonl"
    records = [{"type": "summary", "sessionId": "x"}, user("a"), assistant("b"), {"type": "user"}]
    assert session_id_of(renamed, records) == SID
    # Two ids, neither the stem: nothing says which session the file is.
    assert session_id_of(renamed, [user("a"), user("b", sid="other")]) == f"session-{SID}"
    # An id that could not name a chunk file is not taken from the file's text.
    for bad in ("../../etc/x", "a/b", "", "x" * 129, ".hidden"):
        assert session_id_of(renamed, [user("a", sid=bad)]) == f"session-{SID}"


def test_a_renamed_log_is_read_with_a_note(tmp_path):
    renamed = write_log(tmp_path / f"session-{SID}.jsonl", conversation())
    chunks, [stats] = preprocess([renamed])
    assert [chunk.name for chunk in chunks] == [f"session-{SID}-part1.xml"]
    assert (stats.session_id, stats.warmup, stats.chunks, stats.dropped) == (SID, False, 1, "")
    assert stats.note == f"renamed: session-{SID}.jsonl holds session {SID}"
    assert (stats.lines_read, stats.lines_kept) == (4, 4)


# --- preprocess ---------------------------------------------------------------------------------------


def test_preprocess_gives_chunks_and_figures(tmp_path):
    records = [{"type": "file-history-snapshot", "snapshot": {}}, *conversation(), user("x", sid="other")]
    path = write_log(tmp_path / f"{SID}.jsonl", records)
    chunks, [stats] = preprocess([path])
    assert [chunk.name for chunk in chunks] == [f"session-{SID}-part1.xml"]
    assert stats.session_id == SID
    assert stats.path == str(path)
    assert (stats.lines_read, stats.lines_kept, stats.chunks, stats.warmup) == (6, 4, 1, False)
    assert stats.chars_before == len(path.read_text())
    assert stats.chars_after == len(chunks[0].text)
    assert stats.chars_after < stats.chars_before


def test_warm_up_sessions_are_dropped_with_their_figures(tmp_path):
    real = write_log(tmp_path / "real.jsonl", conversation("real"))
    warm = write_log(
        tmp_path / "warm.jsonl",
        [
            {"type": "summary", "summary": "s"},
            assistant("I am ready", "warm"),
            user([tool_result("x")], "warm"),
        ],
    )
    chunks, stats = preprocess([warm, real])
    assert {chunk.session_id for chunk in chunks} == {"real"}
    assert [(s.session_id, s.warmup, s.chunks, s.chars_after) for s in stats] == [
        ("warm", True, 0, 0),
        ("real", False, 1, len(chunks[0].text)),
    ]
    assert stats[0].lines_read == 3 and stats[0].lines_kept == 2


def test_no_session_left_is_an_input_error_that_says_why_for_each_file(tmp_path):
    # lost.jsonl used to hold one other session's text; since a renamed log is read as the session its
    # lines name, a file is lost only when its lines name several sessions, none of them its own.
    warm = write_log(tmp_path / "warm.jsonl", [assistant("ready", "warm")])
    lost = write_log(tmp_path / "lost.jsonl", [user("one", "elsewhere"), user("two", "other")])
    empty = write_log(tmp_path / "empty.jsonl", [{"type": "summary", "summary": "s"}])
    with pytest.raises(InputError) as info:
        preprocess([warm, lost, empty])
    assert str(info.value) == (
        f"no session is left to analyse: {warm}: no user text: a warm-up; "
        f"{lost}: no line of session lost (its lines are of elsewhere, other); "
        f"{empty}: no user or assistant line with a session id"
    )
    assert info.value.field == "sessions"


def test_two_files_with_one_session_id_are_refused(tmp_path):
    a = write_log(tmp_path / "a" / f"{SID}.jsonl", conversation())
    b = write_log(tmp_path / "b" / f"{SID}.jsonl", conversation())
    with pytest.raises(InputError, match="same session id") as info:
        preprocess([a, b])
    assert info.value.field == "sessions"


def test_preprocess_reports_a_bad_file(tmp_path):
    path = write_log(tmp_path / "s.jsonl", [user("a", "s"), "oops"])
    with pytest.raises(InputError, match="line 2"):
        preprocess([path])


# --- discovery ----------------------------------------------------------------------------------------


def test_default_folder_is_under_claude_projects_with_slashes_and_dots_replaced(tmp_path):
    repo = tmp_path / "my.repo" / "src"
    repo.mkdir(parents=True)
    home = tmp_path / "home"
    expected = str(repo.resolve()).replace("/", "-").replace(".", "-")
    assert default_sessions_dir(repo, home) == home / ".claude" / "projects" / expected
    assert expected.startswith("-") and "my-repo-src" in expected


def test_default_folder_gives_main_sessions_sorted_without_agent_logs(tmp_path):
    repo = tmp_path / "repo"
    repo.mkdir()
    home = tmp_path / "home"
    folder = default_sessions_dir(repo, home)
    for name in ("b.jsonl", "a.jsonl", "agent-1234.jsonl", "notes.txt"):
        write_log(folder / name, [user("x", name)])
    (folder / "dir.jsonl").mkdir()
    assert discover_sessions(None, repo, home) == [folder / "a.jsonl", folder / "b.jsonl"]
    assert discover_sessions([], repo, home) == [folder / "a.jsonl", folder / "b.jsonl"]


def test_missing_default_folder_or_no_session_in_it_is_an_input_error(tmp_path):
    repo = tmp_path / "repo"
    repo.mkdir()
    home = tmp_path / "home"
    with pytest.raises(InputError, match="no session file found in") as info:
        discover_sessions(None, repo, home)
    assert info.value.field == "sessions"
    folder = default_sessions_dir(repo, home)
    write_log(folder / "agent-1.jsonl", [user("x")])
    with pytest.raises(InputError, match=f"no session file found in {folder}"):
        discover_sessions(None, repo, home)


def test_given_folders_and_files_mix_in_order_and_a_file_is_read_once(tmp_path):
    folder = tmp_path / "logs"
    one = write_log(folder / "one.jsonl", [user("x")])
    two = write_log(folder / "two.jsonl", [user("x")])
    agent = write_log(tmp_path / "agent-7.jsonl", [user("x")])
    single = write_log(tmp_path / "single.jsonl", [user("x")])
    found = discover_sessions([single, folder, two, agent], tmp_path / "repo", tmp_path / "home")
    assert found == [single, one, two, agent]  # an agent log given by name is read


def test_given_paths_must_exist_and_end_in_jsonl(tmp_path):
    text = tmp_path / "log.json"
    text.write_text("{}\n")
    with pytest.raises(InputError, match="does not exist") as info:
        discover_sessions([tmp_path / "nope.jsonl"], tmp_path, tmp_path)
    assert info.value.field == "sessions"
    with pytest.raises(InputError, match=r"must end in \.jsonl") as info:
        discover_sessions([text], tmp_path, tmp_path)
    assert info.value.field == "sessions"
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(InputError, match=f"no session file found in {empty}"):
        discover_sessions([empty], tmp_path, tmp_path)
