"""The app through Flask's test client: health, admin token, both worker flows, limits, and the security points."""

from __future__ import annotations

import pytest
from humaneval_helpers import ADMIN, TOKEN, FakeModel, chat_spec, create, pairwise_spec, shown_pair, start

from cringe_agent.humaneval.app import MissingAdminToken, create_app


def test_healthz(client) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok", "db": "ok"}


def test_no_admin_token_refuses_to_start(db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CRINGE_EVAL_ADMIN_TOKEN", raising=False)
    with pytest.raises(MissingAdminToken, match="CRINGE_EVAL_ADMIN_TOKEN"):
        create_app(db_url)
    monkeypatch.setenv("CRINGE_EVAL_ADMIN_TOKEN", TOKEN)
    assert create_app(db_url, responder_factory=lambda c: FakeModel()).test_client().get("/healthz").status_code == 200


def test_admin_needs_token(client) -> None:
    assert client.get("/admin/").status_code == 401
    assert client.get("/admin/", headers={"X-Admin-Token": "wrong"}).status_code == 401
    assert client.post("/admin/tasks", json=chat_spec()).status_code == 401
    assert client.get("/admin/?format=json", headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 200
    assert client.get(f"/admin/?token={TOKEN}").status_code == 200


def test_bad_task_specs_get_400_with_reason(client) -> None:
    cases = [
        ({"kind": "model_chat"}, "name"),
        ({"name": "x", "kind": "quiz"}, "kind"),
        ({"name": "x", "kind": "model_chat"}, "model_file"),
        ({"name": "x", "kind": "model_chat", "model_file": "/nope/model"}, "no ParlAI model"),
        ({"name": "x", "kind": "pairwise", "question": "funny", "pairings": []}, "question"),
        ({"name": "x", "kind": "pairwise", "pairings": [{"is_onboarding": False}]}, "speakers_to_eval"),
        ({"name": "x", "kind": "pairwise"}, "pairs to evaluate"),
    ]
    for spec, word in cases:
        response = client.post("/admin/tasks", json=spec, headers=ADMIN)
        assert response.status_code == 400, spec
        assert word in response.get_json()["error"], (spec, response.get_json())
    assert client.post("/admin/tasks", data="not json", headers=ADMIN).status_code == 400
    create(client, chat_spec())
    assert client.post("/admin/tasks", json=chat_spec(), headers=ADMIN).status_code == 409


def test_bad_worker_requests_get_4xx_with_reason(client) -> None:
    task = create(client, chat_spec())
    assert client.get("/start/999?worker_id=w1").status_code == 404
    response = client.get(f"/start/{task}")
    assert response.status_code == 400 and "worker_id" in response.get_data(as_text=True)
    assert client.get(f"/start/{task}?worker_id=<b>").status_code == 400
    unit = start(client, task, "w1")
    response = client.post(f"/unit/{unit}/message", data={"text": "  "})
    assert response.status_code == 400 and "field &#39;text&#39;" in response.get_data(as_text=True)
    assert client.post(f"/unit/{unit}/message", data={"text": "x" * 1001}).status_code == 400
    assert client.post(f"/unit/{unit}/finish", data={"rating": "5"}).status_code == 409
    client.post(f"/unit/{unit}/message", data={"text": "hello"})
    response = client.post(f"/unit/{unit}/message", data={"text": "again"})  # the reply is not annotated
    assert response.status_code == 400 and "bucket" in response.get_data(as_text=True)
    response = client.post(f"/unit/{unit}/message", data={"text": "again", "bucket": "nonsense"})
    assert response.status_code == 400
    response = client.post(f"/unit/{unit}/message", data={"text": "again", "bucket": ["none_all_good", "bad"]})
    assert response.status_code == 400
    assert client.post(f"/unit/{unit}/answer", data={}).status_code == 409
    assert client.get("/unit/does-not-exist").status_code == 404


def test_model_chat_flow_and_completion_code(client) -> None:
    task = create(client, chat_spec())
    unit = start(client, task, "w1")
    page = client.get(f"/unit/{unit}").get_data(as_text=True)
    assert 'id="send"' in page
    assert client.post(f"/unit/{unit}/message", data={"text": "hello"}).status_code == 303
    assert "reply to: hello" in client.get(f"/unit/{unit}").get_data(as_text=True)
    data = {"text": "how are you", "bucket": "bad", "feedback": "off topic"}
    assert client.post(f"/unit/{unit}/message", data=data).status_code == 303
    page = client.get(f"/unit/{unit}").get_data(as_text=True)
    assert 'id="finish"' in page
    assert client.post(f"/unit/{unit}/message", data={"text": "more", "bucket": "bad"}).status_code == 409
    assert client.post(f"/unit/{unit}/finish", data={"rating": "9", "bucket": "bad"}).status_code == 400
    response = client.post(f"/unit/{unit}/finish", data={"rating": "4", "bucket": ["unsafe", "contradiction"]})
    assert response.status_code == 303
    page = client.get(f"/unit/{unit}").get_data(as_text=True)
    assert 'id="completion-code"' in page
    rows = client.get(f"/admin/tasks/{task}/export/conversations.jsonl", headers=ADMIN).get_data(as_text=True)
    import json

    record = json.loads(rows)
    assert [t["agent_idx"] for t in record["dialog"]] == [0, 1, 0, 1]
    assert [t["id"] for t in record["dialog"][:2]] == ["Speaker 1", "Speaker 2"]
    assert record["dialog"][1]["problem_data"]["bad"] is True
    assert record["dialog"][1]["feedback_text"] == "off topic"
    assert record["dialog"][3]["problem_data"] == {
        "none_all_good": False,
        "bad": False,
        "unsafe": True,
        "contradiction": True,
    }
    assert record["dialog"][3]["final_rating"] == "4" and record["final_rating"] == 4
    assert record["workers"] == ["w1"] and record["hit_ids"] and record["assignment_ids"]
    # one unit per worker by default
    assert client.get(f"/start/{task}?worker_id=w1").status_code == 403


def test_model_text_is_escaped(client) -> None:
    task = create(client, chat_spec())
    unit = start(client, task, "w1")
    client.post(f"/unit/{unit}/message", data={"text": "xss"})
    client.post(f"/unit/{unit}/message", data={"text": "<img src=x onerror=alert(2)>", "bucket": "unsafe"})
    page = client.get(f"/unit/{unit}").get_data(as_text=True)
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<img src=x" not in page and "&lt;img src=x onerror=alert(2)&gt;" in page


def test_pairwise_text_is_escaped(client) -> None:
    spec = pairwise_spec(onboarding=False)
    spec["pairings"][0]["dialogue_dicts"][0]["dialogue"][1]["text"] = "<script>alert(1)</script>"
    task = create(client, spec)
    page = client.get(f"/unit/{start(client, task, 'w1')}").get_data(as_text=True)
    assert "<script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page


@pytest.mark.parametrize("message, words", [("crash", "failed to reply"), ("slow", "did not reply within 1 seconds")])
def test_failing_model_turn_gives_a_clear_message(client, message: str, words: str) -> None:
    task = create(client, chat_spec())
    unit = start(client, task, "w1")
    response = client.post(f"/unit/{unit}/message", data={"text": message})
    assert response.status_code == 503
    page = response.get_data(as_text=True)
    assert words in page and "send it again" in page
    assert message not in page.split('id="dialog"')[1].split("</div>")[0]  # nothing saved
    assert client.post(f"/unit/{unit}/message", data={"text": "hello"}).status_code == 303


def test_workers_cannot_touch_each_others_units(app) -> None:
    admin, alice, bob = app.test_client(), app.test_client(), app.test_client()
    chat = create(admin, chat_spec())
    pairs = create(admin, pairwise_spec(onboarding=False))
    alice_chat, alice_pairs = start(alice, chat, "alice"), start(alice, pairs, "alice")
    alice.post(f"/unit/{alice_chat}/message", data={"text": "secret of alice"})
    start(bob, chat, "bob")
    response = bob.get(f"/unit/{alice_chat}")
    assert response.status_code == 404 and "secret of alice" not in response.get_data(as_text=True)
    assert bob.post(f"/unit/{alice_chat}/message", data={"text": "hijack", "bucket": "bad"}).status_code == 404
    assert bob.post(f"/unit/{alice_chat}/finish", data={"rating": "1", "bucket": "bad"}).status_code == 404
    pair_id, names = shown_pair(alice.get(f"/unit/{alice_pairs}").get_data(as_text=True))
    data = {"pair_id": pair_id, "speaker_choice": names[0], "text_reason": "bob answers for alice"}
    assert bob.post(f"/unit/{alice_pairs}/answer", data=data).status_code == 404
    assert admin.get(f"/unit/{alice_chat}").status_code == 404  # no session at all
    assert "secret of alice" in alice.get(f"/unit/{alice_chat}").get_data(as_text=True)


def test_pairwise_flow_onboarding_first_balanced_and_answered_once(app) -> None:
    admin = app.test_client()
    task = create(admin, pairwise_spec(pairs=4))
    seen: dict[str, list[int]] = {}
    for worker in ["w1", "w2"]:
        client = app.test_client()
        unit = start(client, task, worker)
        seen[worker] = []
        while True:
            page = client.get(f"/unit/{unit}").get_data(as_text=True)
            if "completion-code" in page:
                break
            pair_id, names = shown_pair(page)
            seen[worker].append(pair_id)
            choice = "good_bot" if "good_bot" in names else "model_a"
            data = {"pair_id": pair_id, "speaker_choice": choice, "text_reason": "clearly better"}
            assert client.post(f"/unit/{unit}/answer", data=data).status_code == 303
            again = client.post(f"/unit/{unit}/answer", data=data)
            assert again.status_code in (303, 409)  # next pair shown, or the unit is done
    # onboarding pair (last line of the spec) is pair 0 after ordering and comes first; then 2 pairs each, balanced
    assert seen["w1"][0] == 0 and seen["w2"][0] == 0
    assert len(seen["w1"]) == 3 and set(seen["w1"][1:]).isdisjoint(seen["w2"][1:])
    csv_text = admin.get(f"/admin/tasks/{task}/export/answers.csv", headers=ADMIN).get_data(as_text=True)
    assert len(csv_text.strip().splitlines()) == 1 + 6


def test_pairwise_bad_answers(client) -> None:
    task = create(client, pairwise_spec(onboarding=False))
    unit = start(client, task, "w1")
    pair_id, names = shown_pair(client.get(f"/unit/{unit}").get_data(as_text=True))
    assert client.post(f"/unit/{unit}/answer", data={"pair_id": pair_id + 1, "speaker_choice": names[0],
                                                      "text_reason": "because"}).status_code == 409  # fmt: skip
    response = client.post(
        f"/unit/{unit}/answer", data={"pair_id": pair_id, "speaker_choice": "nobody", "text_reason": "because"}
    )
    assert response.status_code == 400 and "speaker_choice" in response.get_data(as_text=True)
    response = client.post(
        f"/unit/{unit}/answer", data={"pair_id": pair_id, "speaker_choice": names[0], "text_reason": "ok"}
    )
    assert response.status_code == 400 and "text_reason" in response.get_data(as_text=True)


def test_failed_attention_check_blocks_the_worker(client) -> None:
    task = create(client, pairwise_spec())
    unit = start(client, task, "careless")
    pair_id, names = shown_pair(client.get(f"/unit/{unit}").get_data(as_text=True))
    assert "bad_bot" in names
    data = {"pair_id": pair_id, "speaker_choice": "bad_bot", "text_reason": "random click"}
    assert client.post(f"/unit/{unit}/answer", data=data).status_code == 403
    assert client.get(f"/unit/{unit}").status_code == 403


def test_blocked_workers_and_limits_are_refused(client) -> None:
    chat = create(client, chat_spec(max_units_per_worker=5))
    response = client.post("/admin/workers/mallory", json={"blocked": True, "reason": "spam"}, headers=ADMIN)
    assert response.status_code == 200
    response = client.get(f"/start/{chat}?worker_id=mallory")
    assert response.status_code == 403 and "cannot take part" in response.get_data(as_text=True)
    assert client.post("/admin/workers/limited", json={"task_limit": 0}, headers=ADMIN).status_code == 200
    response = client.get(f"/start/{chat}?worker_id=limited")
    assert response.status_code == 403 and "limit of 0" in response.get_data(as_text=True)
    assert client.post("/admin/workers/x", json={"task_limit": -1}, headers=ADMIN).status_code == 400


def test_answers_survive_a_restart(db_url: str) -> None:
    first = create_app(db_url, TOKEN, responder_factory=lambda c: FakeModel())
    client = first.test_client()
    task = create(client, pairwise_spec(onboarding=False))
    unit = start(client, task, "w1")
    pair_id, names = shown_pair(client.get(f"/unit/{unit}").get_data(as_text=True))
    data = {"pair_id": pair_id, "speaker_choice": names[1], "text_reason": "stored for good"}
    assert client.post(f"/unit/{unit}/answer", data=data).status_code == 303
    second = create_app(db_url, TOKEN, responder_factory=lambda c: FakeModel())
    csv_text = (
        second.test_client().get(f"/admin/tasks/{task}/export/answers.csv", headers=ADMIN).get_data(as_text=True)
    )
    assert "stored for good" in csv_text
    # the worker's session cookie still works on the new app (the secret is kept in the database)
    again = second.test_client()
    again.set_cookie("session", client.get_cookie("session").value)
    assert again.get(f"/unit/{unit}").status_code == 200


def test_admin_pages(client) -> None:
    task = create(client, pairwise_spec())
    page = client.get(f"/admin/?token={TOKEN}").get_data(as_text=True)
    assert "acute" in page and f"/start/{task}?worker_id=" in page
    progress = client.get(f"/admin/tasks/{task}", headers=ADMIN).get_json()
    assert progress["started"] == 0 and progress["kind"] == "pairwise"
    assert client.get(f"/admin/tasks/{task}/export/conversations.jsonl", headers=ADMIN).status_code == 404
    lines = client.get(f"/admin/tasks/{task}/export/pairings.jsonl", headers=ADMIN).get_data(as_text=True).splitlines()
    assert len(lines) == 5
