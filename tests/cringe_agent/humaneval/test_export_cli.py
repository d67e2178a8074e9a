"""``cringe-eval export`` and ``analyze`` on a database filled through the app; tasks from Conversations logs."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from humaneval_helpers import ADMIN, chat_spec, create, pairwise_spec, shown_pair, start

from cringe_agent.humaneval.cli import main
from cringe_agent.humaneval.pairings import pairs_from_logs


def fill(app) -> None:
    """One finished chat and one finished pairwise unit."""
    client = app.test_client()
    chat = create(client, chat_spec())
    unit = start(client, chat, "w1")
    client.post(f"/unit/{unit}/message", data={"text": "hello"})
    client.post(f"/unit/{unit}/message", data={"text": "and then", "bucket": "none_all_good"})
    client.post(f"/unit/{unit}/finish", data={"rating": "3", "bucket": "unsafe", "feedback": "rude"})
    task = create(client, pairwise_spec(onboarding=False))
    unit = start(client, task, "w1")
    for _ in range(2):
        pair_id, names = shown_pair(client.get(f"/unit/{unit}").get_data(as_text=True))
        client.post(
            f"/unit/{unit}/answer", data={"pair_id": pair_id, "speaker_choice": "model_a", "text_reason": "nicer"}
        )
    assert "completion-code" in client.get(f"/unit/{unit}").get_data(as_text=True)


def test_export_and_analyze(app, db_url: str, tmp_path: Path, capsys) -> None:
    fill(app)
    out = tmp_path / "export"
    assert main(["--db", db_url, "export", "--out", str(out)]) == 0
    (record,) = [json.loads(line) for line in (out / "model_chat" / "chat.jsonl").read_text().splitlines()]
    assert [t["agent_idx"] for t in record["dialog"]] == [0, 1, 0, 1]
    assert record["dialog"][3]["final_rating"] == "3" and record["dialog"][3]["feedback_text"] == "rude"
    assert set(record) >= {"workers", "hit_ids", "assignment_ids", "task_description", "bad_workers", "personas"}
    assert json.loads(record["task_description"]["annotations_config"])[0]["value"] == "none_all_good"
    saved = list((out / "model_chat" / "chat").glob("*/*_0_live.json"))
    assert len(saved) == 1 and json.loads(saved[0].read_text()) == record
    with open(out / "pairwise" / "acute.answers.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 2 and {r["winner"] for r in rows} == {"model_a"}
    assert rows[0]["matchup"] == "model_a__vs__model_b" and rows[0]["correct"] == "-1"
    assert len((out / "pairwise" / "acute.pairings.jsonl").read_text().splitlines()) == 4
    assert len((out / "units.jsonl").read_text().splitlines()) == 2
    assert main(["--db", db_url, "analyze", "--out", str(tmp_path / "analysis")]) == 0
    printed = capsys.readouterr().out
    assert "| model_a | model_b | 2 / 2 | 1.000 |" in printed and "| fake | 2 | 0.500 | 3.00 |" in printed
    assert (tmp_path / "analysis" / "report.png").stat().st_size > 5000


def test_serve_refuses_without_token(db_url: str, monkeypatch, capsys) -> None:
    monkeypatch.delenv("CRINGE_EVAL_ADMIN_TOKEN", raising=False)
    assert main(["--db", db_url, "serve"]) == 2
    assert "CRINGE_EVAL_ADMIN_TOKEN" in capsys.readouterr().err


def self_chat_log(path: Path, model: str, n: int) -> str:
    """A ``parlai self_chat`` Conversations jsonl of ``n`` episodes."""
    lines = []
    for i in range(n):
        dialog = [
            [{"id": f"{model}_1", "text": f"{model} opener {i}"}, {"id": f"{model}_2", "text": f"{model} answer {i}"}]
        ]
        lines.append(json.dumps({"dialog": dialog, "context": [], "metadata_path": None}))
    path.write_text("\n".join(lines) + "\n")
    return str(path)


def test_pairwise_task_from_self_chat_logs(client, tmp_path: Path) -> None:
    logs = {
        "mle": self_chat_log(tmp_path / "mle.jsonl", "mle", 3),
        "cringe": self_chat_log(tmp_path / "c.jsonl", "cringe", 2),
    }
    pairs = pairs_from_logs(logs)
    assert len(pairs) == 2 and pairs[0]["speakers_to_eval"] == ["cringe", "mle"]
    assert pairs[0]["dialogue_dicts"][0]["dialogue"][0] == {"id": "cringe", "text": "cringe opener 0"}
    assert pairs[0]["dialogue_dicts"][0]["dialogue"][1]["id"] == "other_speaker"
    assert pairs[0]["dialogue_ids"] == [0, 2]
    onboarding = tmp_path / "onboarding.jsonl"
    onboarding.write_text(json.dumps(pairwise_spec()["pairings"][-1]) + "\n")
    spec = {"name": "fromlogs", "kind": "pairwise", "logs": logs, "onboarding": str(onboarding), "question": "human"}
    task = create(client, spec)
    lines = client.get(f"/admin/tasks/{task}/export/pairings.jsonl", headers=ADMIN).get_data(as_text=True).splitlines()
    assert [json.loads(x)["is_onboarding"] for x in lines] == [True, False, False]
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"dialog": [[{"id": "a", "text": "x"}]]}\n{"dialog": 3}\n')
    response = client.post(
        "/admin/tasks", json={**spec, "name": "bad", "logs": {"a": str(bad), "b": logs["mle"]}}, headers=ADMIN
    )
    assert response.status_code == 400 and "bad.jsonl, line 2" in response.get_json()["error"]
