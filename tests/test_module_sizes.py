"""Small modules whose names say what they hold: no Python module outside tests/ and the simulator
(whose request validation is one long, flat list of the API's rules) is over 400 lines."""

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LIMIT = 400
EXEMPT = ("tests/", "runs/simulator/", "runs/migrations/", ".venv/", "var/", "examples/")


def test_no_module_is_over_400_lines():
    sizes = {}
    for path in ROOT.rglob("*.py"):
        rel = path.relative_to(ROOT).as_posix()
        if not rel.startswith(EXEMPT):
            sizes[rel] = len(path.read_text(encoding="utf-8").splitlines())
    assert sizes, "the scan found no module"
    assert {rel: n for rel, n in sizes.items() if n > LIMIT} == {}
