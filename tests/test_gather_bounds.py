"""Gathering is bounded: a preview or a run of a huge folder answers at once with what to do.

Issue 13 point 2: a preview of `/usr` held a request for about 10 seconds. Past
ERKWEB_GATHER_MAX_FILES folder entries seen (default 20,000) or ERKWEB_GATHER_MAX_SECONDS spent
(default 2 s), gathering stops with one clear sentence: at the form field, in the preview, and on the
command line (exit 2), before anything is created.
"""

import re
import time
from datetime import date
from io import StringIO

import pytest
from django.core.management import call_command

from runs.errors import InputError
from runs.models import Run
from runs.operations.audit_scan.gather import gather
from runs.operations.learn.sessions import discover_sessions

from .conftest import AS_OF, write_docs

FOLDERS, FILES_PER_FOLDER = 50, 500  # 25,000 files and 50 folders: over the default bound of 20,000


@pytest.fixture(scope="module")
def huge(tmp_path_factory):
    """A folder like /usr: many files, a few of them docs."""
    root = tmp_path_factory.mktemp("huge")
    for f in range(FOLDERS):
        folder = root / f"pkg{f:02}"
        folder.mkdir()
        for n in range(FILES_PER_FOLDER):
            (folder / (f"doc{n}.md" if n % 10 == 0 else f"lib{n}.so")).write_text("# A doc\n\nText.\n")
    return root


# With the default bounds, whichever is hit first answers: the file bound on an idle machine, the time
# bound on one busy enough to take 2 s for 20,000 entries. Either way, within 3 s, saying what to do.
EITHER_BOUND = (
    r"(More than 20,000 files under {root}: pick the docs folder itself \(or raise ERKWEB_GATHER_MAX_FILES\)"
    r"|Looking through {root} took more than 2 s \([0-9,]+ files seen\): pick the docs folder itself "
    r"\(or raise ERKWEB_GATHER_MAX_SECONDS\))\."
)


def either_bound(root) -> re.Pattern:
    return re.compile(EITHER_BOUND.format(root=re.escape(str(root))))


def files_message(root, bound="20,000") -> str:
    return (
        f"More than {bound} files under {root}: pick the docs folder itself "
        "(or raise ERKWEB_GATHER_MAX_FILES)."
    )


def test_a_huge_folder_stops_at_the_file_bound(huge, settings):
    settings.ERKWEB_GATHER_MAX_SECONDS = 60  # this test is about the file bound alone
    started = time.monotonic()
    with pytest.raises(InputError) as error:
        gather(huge, as_of=date(2026, 11, 28))
    assert time.monotonic() - started < 3.0  # about 0.3 s on an idle machine
    assert str(error.value) == files_message(huge)
    assert error.value.field == "docs_root"


def test_the_bound_counts_every_folder_entry(tmp_path, settings):
    # Entries: arch, arch/a.md, arch/notes.txt, b.md, c.png: five, of which two are docs.
    root = write_docs(tmp_path / "docs", {"arch/a.md": "# A\n", "arch/notes.txt": "x", "b.md": "# B\n"})
    (root / "c.png").write_bytes(b"\x89PNG")
    settings.ERKWEB_GATHER_MAX_FILES = 5
    settings.ERKWEB_GATHER_MAX_SECONDS = 60
    assert gather(root, as_of=date(2026, 11, 28)).items == ["arch/a.md", "b.md"]
    settings.ERKWEB_GATHER_MAX_FILES = 4
    with pytest.raises(InputError, match=r"^More than 4 files under .*docs: pick the docs folder itself"):
        gather(root, as_of=date(2026, 11, 28))


def test_a_category_that_is_too_big_is_reported_at_the_category(huge, settings):
    settings.ERKWEB_GATHER_MAX_FILES = 100
    settings.ERKWEB_GATHER_MAX_SECONDS = 60
    with pytest.raises(InputError) as error:
        gather(huge, as_of=date(2026, 11, 28), category="pkg07")
    assert str(error.value) == files_message(huge / "pkg07", bound="100")
    assert error.value.field == "category"


class SteppingClock:
    """A monotonic clock that moves on 1 ms each time it is read: the time bound is tested on the count of
    entries gathering got through, not on how fast this machine happens to walk a folder."""

    def __init__(self) -> None:
        self.now = 1000.0

    def monotonic(self) -> float:
        self.now += 0.001
        return self.now


def test_the_time_bound_stops_a_slow_gather(huge, settings, monkeypatch):
    from runs import gather_bounds

    clock = SteppingClock()
    monkeypatch.setattr(gather_bounds, "time", clock)
    settings.ERKWEB_GATHER_MAX_FILES = 10**9
    settings.ERKWEB_GATHER_MAX_SECONDS = 0.1
    with pytest.raises(InputError) as error:
        gather(huge, as_of=date(2026, 11, 28))
    # 0.1 s at 1 ms a reading: the bound is crossed at about the hundredth entry, far from the 25,000.
    assert clock.now - 1000.0 < 0.2
    message = str(error.value)
    assert message.startswith(f"Looking through {huge} took more than 0.1 s (")
    assert message.endswith("files seen): pick the docs folder itself (or raise ERKWEB_GATHER_MAX_SECONDS).")
    seen = int(re.search(r"\((\d[\d,]*) files seen\)", message).group(1).replace(",", ""))
    assert 0 < seen < 200


def test_a_folder_of_too_many_session_logs_is_refused_at_the_sessions_field(tmp_path, settings):
    folder = tmp_path / "sessions"
    folder.mkdir()
    for n in range(4):
        (folder / f"s{n}.jsonl").write_text("{}\n")
    settings.ERKWEB_GATHER_MAX_FILES = 4
    settings.ERKWEB_GATHER_MAX_SECONDS = 60
    assert len(discover_sessions([folder], tmp_path)) == 4
    settings.ERKWEB_GATHER_MAX_FILES = 3
    with pytest.raises(InputError) as error:
        discover_sessions([folder], tmp_path)
    assert str(error.value) == (
        f"More than 3 files under {folder}: pick the folder of the session logs itself "
        "(or raise ERKWEB_GATHER_MAX_FILES)."
    )
    assert error.value.field == "sessions"


@pytest.mark.django_db(transaction=True)
def test_the_preview_of_a_huge_folder_answers_within_3_seconds_with_the_message(client, huge):
    client.get("/runs/new/")  # a running server has imported its views (and the SDK) long before
    started = time.monotonic()
    response = client.get(
        "/runs/new/",
        {"preview": "1", "operation": "audit-scan", "docs_root": str(huge), "agents": "5", "model": "local"},
        headers={"HX-Request": "true"},
    )
    assert time.monotonic() - started < 3.0
    assert response.status_code == 200
    body = response.content.decode()
    assert body.lstrip().startswith('<section id="preview"'), "the fragment, not the page"
    assert either_bound(huge).search(body.replace("\n", " ")), body


@pytest.mark.django_db(transaction=True)
def test_starting_a_run_on_a_huge_folder_shows_the_message_at_the_field_and_creates_nothing(client, huge):
    client.get("/runs/new/")
    started = time.monotonic()
    response = client.post(
        "/runs/new/",
        {"operation": "audit-scan", "docs_root": str(huge), "agents": "5", "model": "local", "as_of": AS_OF},
    )
    assert time.monotonic() - started < 3.0
    assert response.status_code == 200
    body = response.content.decode()
    error_start = body.index('id="docs_root-error"')
    assert either_bound(huge).search(body[error_start:][:500])
    assert Run.objects.count() == 0


@pytest.mark.django_db(transaction=True)
def test_the_command_line_exits_2_with_the_message_and_creates_nothing(huge):
    from runs.management.commands import erk  # noqa: F401 (imported before the clock starts, like the views)

    out, err = StringIO(), StringIO()
    started = time.monotonic()
    with pytest.raises(SystemExit) as exit_info:
        call_command(
            "erk", "run", "audit-scan", "--docs-root", str(huge), "--model", "local", stdout=out, stderr=err
        )
    assert time.monotonic() - started < 3.0
    assert exit_info.value.code == 2
    assert either_bound(huge).fullmatch(err.getvalue().removeprefix("erk: ").removesuffix("\n"))
    assert out.getvalue() == ""
    assert Run.objects.count() == 0


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("two", "ERKWEB_GATHER_MAX_SECONDS must be a number, not 'two'"),
        ("nan", "ERKWEB_GATHER_MAX_SECONDS must be a finite number, not 'nan'"),
        ("inf", "ERKWEB_GATHER_MAX_SECONDS must be a finite number, not 'inf'"),
        ("0.01", "ERKWEB_GATHER_MAX_SECONDS must be at least 0.1, not 0.01"),
    ],
)
def test_a_bad_time_bound_is_one_clear_error(monkeypatch, raw, message):
    from django.core.exceptions import ImproperlyConfigured

    from erkweb.env import env_float

    monkeypatch.setenv("ERKWEB_GATHER_MAX_SECONDS", raw)
    with pytest.raises(ImproperlyConfigured) as error:
        env_float("ERKWEB_GATHER_MAX_SECONDS", 2.0, minimum=0.1)
    assert str(error.value) == message


def test_a_time_bound_reads_as_seconds(monkeypatch):
    from erkweb.env import env_float

    monkeypatch.setenv("ERKWEB_GATHER_MAX_SECONDS", " 0.5 ")
    assert env_float("ERKWEB_GATHER_MAX_SECONDS", 2.0, minimum=0.1) == 0.5
    monkeypatch.delenv("ERKWEB_GATHER_MAX_SECONDS")
    assert env_float("ERKWEB_GATHER_MAX_SECONDS", 2.0, minimum=0.1) == 2.0
