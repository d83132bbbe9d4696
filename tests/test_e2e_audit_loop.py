"""The audit loop end to end, through a real ``qcluster`` and the simulator (subprocesses, a temporary
database), as a user drives it from the command line: scan a copy of the example docs, audit the top 5
with a model, apply every verified audit, scan again: the applied docs are excluded as audited within 7
days, and each one's history holds the whole story (the scan, its audit, the edit)."""

import json
import shutil
from datetime import UTC, datetime

import pytest

from .test_e2e import ROOT, app_env, cluster, erk, last_json  # noqa: F401  (fixtures)

pytestmark = pytest.mark.e2e


def run_json(env, *args) -> dict:
    code, out, err = erk(env, "run", *args, "--wait", "--json")
    assert code == 0, f"erk exited {code}: {err}\n{out[-2000:]}"
    return last_json(out)


def test_scan_audit_apply_scan_again(cluster, tmp_path):  # noqa: F811
    shutil.copytree(ROOT / "examples", tmp_path / "repo")
    docs = tmp_path / "repo" / "docs" / "learned"
    # As of today: the stamp applying writes is today's (Pacific time), within the 7 days the next scan
    # excludes.
    today = datetime.now(UTC).date().isoformat()
    first = run_json(cluster, "audit-scan", "--docs-root", str(docs), "--model", "local", "--as-of", today)
    ranked = sorted(first["items"], key=lambda doc: (-first["items"][doc]["score"], doc))
    top5 = ranked[:5]

    audit = run_json(cluster, "audit-doc", "--from-run", first["run_id"], "--top", "5", "--model", "sonnet")
    assert audit["status"] == "succeeded" and audit["simulator"] is True and audit["heuristic"] is False
    assert list(audit["docs"]) == top5
    assert [b["status"] for b in audit["batches"]] == ["verified"] * 5
    assert all(b["turns"] >= 3 for b in audit["batches"])
    before = {doc: (docs / doc).read_bytes() for doc in top5}

    code, out, err = erk(cluster, "apply", audit["run_id"], "--json")
    assert code == 0, err + out
    applied = json.loads(out)["docs"]
    assert [(d["doc"], d["status"]) for d in applied] == [(doc, "applied") for doc in top5]
    for entry in applied:
        text = (docs / entry["doc"]).read_text()
        assert f"audit_result: {entry['result']}" in text and 'last_audited: "' in text
        if not audit["docs"][entry["doc"]]["revision_proposed"]:
            assert entry["result"] == "clean"  # stamped only: KEEP or CONSIDER DELETING

    second = run_json(cluster, "audit-scan", "--docs-root", str(docs), "--model", "local", "--as-of", today)
    assert not set(top5) & set(second["items"]), "audited within 7 days: excluded"
    assert second["excluded"] == first["excluded"] + 5
    assert second["scanned"] == first["scanned"] - 5

    for doc in top5:
        code, out, err = erk(cluster, "history", "--docs-root", str(docs), "--doc", doc, "--json")
        assert code == 0, err
        story = json.loads(out)
        assert [s["run_id"] for s in story["scans"]] == [first["run_id"]]
        assert [(a["run_id"], a["verdict"]) for a in story["audits"]] == [
            (audit["run_id"], audit["docs"][doc]["verdict"])
        ]
        [edit] = story["edits"]
        assert edit["run_id"] == audit["run_id"] and edit["reverted_at"] is None and edit["lines_added"] >= 1

    code, out, _ = erk(cluster, "revert", audit["run_id"], "--doc", top5[0])
    assert code == 0 and (docs / top5[0]).read_bytes() == before[top5[0]]
    code, out, _ = erk(cluster, "history", "--docs-root", str(docs), "--json")
    root = json.loads(out)
    assert [s["run_id"] for s in root["scans"]] == [first["run_id"], second["run_id"]]
    # The applied docs were not removed: the second scan left them out as audited within 7 days.
    assert root["since_previous"]["removed"] == [] and root["since_previous"]["new"] == []
    assert sorted(root["since_previous"]["audited"]) == sorted(top5)
