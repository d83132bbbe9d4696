"""learn's search hints from the title (specs/learn.md, "Stages and agents")."""

import pytest

from runs.errors import InputError
from runs.operations.learn.hints import STOP_WORDS, search_hints


@pytest.mark.parametrize(
    ("title", "hints"),
    [
        (
            "Add session preprocessing for the learn workflow",
            ["session", "preprocessing", "learn", "workflow"],
        ),
        ("Fix flaky test in PR checkout", ["flaky", "test", "checkout"]),
        ("Update docs: use the `--dry-run` flag with erk land", ["docs", "dry-run", "flag", "erk", "land"]),
        ("Make plan_schema.md parse/validate YAML", ["plan_schema", "parse", "validate", "yaml"]),
        ("Learn learn LEARN and Learning", ["learn", "learning"]),
        ("Add v2 API to CI", ["api"]),
        ("Fix the a an to for with of in on and or", []),
    ],
)
def test_hints_are_lowercased_words_without_stop_words_and_short_words(title, hints):
    assert search_hints(title) == hints


def test_stop_words_are_the_specs():
    assert set(STOP_WORDS) == {
        *("the", "a", "an", "to", "for", "with", "of", "in", "on", "and", "or"),
        *("add", "update", "fix", "use", "make"),
    }


def test_letters_digits_underscores_and_hyphens_make_words():
    assert search_hints("worktree-pool v1.2 my_var x-y 2026") == ["worktree-pool", "my_var", "x-y", "2026"]


@pytest.mark.parametrize("title", ["", "   "])
def test_a_blank_title_is_an_input_error(title):
    with pytest.raises(InputError) as info:
        search_hints(title)
    assert info.value.field == "title"
