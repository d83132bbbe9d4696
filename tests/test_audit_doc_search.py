"""The search_code tool (specs/audit-doc.md, "Tools"): literal and def/class queries, bounded and
confined to the repo root, in a stable order."""

import os

import pytest

from runs.operations.audit_doc.search import (
    MAX_MATCHES,
    SEARCH_CODE_SCHEMA,
    CodeSearch,
    Match,
    parse_results,
    search_code,
)
from runs.tools import ToolError


@pytest.fixture
def repo(tmp_path):
    root = tmp_path / "repo"
    (root / "a" / "z").mkdir(parents=True)
    (root / "a.py").write_text("def load(path):\n    return path\n")
    (root / "a" / "b.py").write_text(
        "class Loader:\n"
        "    def load(self):\n"
        "        pass\n"
        "    async def load_all(self):\n"
        "        pass\n"
        "async def load():\n"
        "# def load(): a comment, not a definition\n"
        "class LoaderBase(object):\n"
        "class Loader(Base):\n"
        "def load_config():\n"
        "def load[T](x): ...\n"
    )
    (root / "a" / "z" / "c.py").write_text("x = load('a')\n")
    return root


def lines(result: str) -> list[str]:
    return result.split("\n")


def test_a_literal_query_in_relative_path_order(repo):
    # Plain string order: "a.py" < "a/b.py" < "a/z/c.py" ('.' sorts before '/').
    assert lines(search_code(repo, "load(")) == [
        "a.py:1: def load(path):",
        "a/b.py:2: def load(self):",
        "a/b.py:6: async def load():",
        "a/b.py:7: # def load(): a comment, not a definition",
        "a/z/c.py:1: x = load('a')",
    ]
    assert search_code(repo, "Load") == "\n".join(
        ["a/b.py:1: class Loader:", "a/b.py:8: class LoaderBase(object):", "a/b.py:9: class Loader(Base):"]
    )  # case-sensitive: `load` lines do not match `Load`


def test_def_and_class_queries_find_definitions_only(repo):
    assert lines(search_code(repo, "def load")) == [
        "a.py:1: def load(path):",
        "a/b.py:2: def load(self):",
        "a/b.py:6: async def load():",
        "a/b.py:11: def load[T](x): ...",
    ]
    assert lines(search_code(repo, "class Loader")) == [
        "a/b.py:1: class Loader:",
        "a/b.py:9: class Loader(Base):",
    ]
    assert search_code(repo, "  def   load_config  ") == "a/b.py:10: def load_config():"
    # Not an identifier after `def`: a literal query.
    assert search_code(repo, "def load(") == "\n".join(
        [
            "a.py:1: def load(path):",
            "a/b.py:2: def load(self):",
            "a/b.py:6: async def load():",
            "a/b.py:7: # def load(): a comment, not a definition",
        ]
    )


def test_no_matches_and_a_missing_root(repo, tmp_path):
    assert search_code(repo, "nothing like this") == "no matches"
    assert search_code(tmp_path / "absent", "load") == "no matches"


def test_at_most_fifty_matches_then_a_note(repo):
    (repo / "many.txt").write_text("".join(f"hit {n}\n" for n in range(1, 61)))
    result = lines(search_code(repo, "hit"))
    assert len(result) == MAX_MATCHES + 1
    assert result[0] == "many.txt:1: hit 1" and result[49] == "many.txt:50: hit 50"
    assert result[-1] == "(stopped at 50 matches)"
    (repo / "many.txt").write_text("".join(f"hit {n}\n" for n in range(1, 51)))
    assert len(lines(search_code(repo, "hit"))) == 50  # exactly 50: no note


def test_lines_are_stripped_and_cut_to_200_characters(repo):
    (repo / "long.py").write_text("\t   needle " + "x" * 300 + "   \n")
    (match,) = parse_results(search_code(repo, "needle"))
    assert match.text == ("needle " + "x" * 300)[:200]
    assert len(match.text) == 200


def test_binaries_big_files_and_skipped_folders_are_not_read(repo):
    (repo / "bin.dat").write_bytes(b"needle\x00\x01")
    (repo / "big.txt").write_bytes(b"needle\n" + b"y" * (1024 * 1024))
    (repo / "just-fits.txt").write_bytes(b"needle\n" + b"y" * (1024 * 1024 - 7))
    for folder in (".git", "node_modules", "__pycache__", ".venv"):
        (repo / folder).mkdir()
        (repo / folder / "x.py").write_text("needle\n")
    (repo / "latin1.py").write_bytes(b"caf\xe9 needle\n")
    assert lines(search_code(repo, "needle")) == ["just-fits.txt:1: needle", "latin1.py:1: caf\ufffd needle"]


def test_symlinks_are_never_followed(repo, tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.py").write_text("needle outside\n")
    (repo / "link.py").symlink_to(outside / "secret.py")
    (repo / "linkdir").symlink_to(outside)
    (repo / "inside.py").write_text("needle inside\n")
    (repo / "inside-link.py").symlink_to(repo / "inside.py")
    # What a link points to inside the root is found under its own name, once.
    assert search_code(repo, "needle") == "inside.py:1: needle inside"


def test_names_that_cannot_be_shown_on_one_line_are_skipped(repo):
    (repo / "bad\nname.py").write_text("needle\n")
    os.mkdir(os.fsencode(repo) + b"/dir\xff")
    (repo / "ok.py").write_text("needle\n")
    with open(os.fsencode(repo) + b"/dir\xff/x.py", "w") as fh:
        fh.write("needle\n")
    assert search_code(repo, "needle") == "ok.py:1: needle"


@pytest.mark.parametrize(
    ("query", "message"),
    [
        (None, "query must be a non-empty string"),
        (5, "query must be a non-empty string"),
        ("", "query must be a non-empty string"),
        ("   ", "query must be a non-empty string"),
        ("a\nb", "query must be one line"),
        ("a\x00b", "query must be UTF-8 text without NUL"),
        ("\ud800", "query must be UTF-8 text without NUL"),
        ("x" * 501, "query is over 500 characters"),
    ],
)
def test_bad_queries_are_a_clear_tool_error(repo, query, message):
    with pytest.raises(ToolError, match=message.replace("(", r"\(")):
        search_code(repo, query)


def test_one_search_object_answers_like_single_calls(repo):
    code = CodeSearch(repo)
    for query in ("load", "def load", "class Loader", "nothing"):
        assert code.search_code(query) == search_code(repo, query)


def test_results_read_back_and_the_schema_names_the_tool(repo):
    result = search_code(repo, "def load")
    assert parse_results(result)[0] == Match("a.py", 1, "def load(path):")
    assert parse_results("no matches") == []
    assert parse_results("x.py:3: a\n(stopped at 50 matches)") == [Match("x.py", 3, "a")]
    assert SEARCH_CODE_SCHEMA["name"] == "search_code"
    assert SEARCH_CODE_SCHEMA["input_schema"]["required"] == ["query"]
