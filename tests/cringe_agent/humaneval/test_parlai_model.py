"""A model-chat task on a tiny ParlAI generator trained in the test (create_agent_from_model_file, loaded once)."""

from __future__ import annotations

from pathlib import Path

import pytest
from humaneval_helpers import TOKEN, create, start
from tiny_models import train_cringe_steps, write_pos_neg_task

from cringe_agent.humaneval.app import create_app


@pytest.mark.integration
def test_chat_with_a_tiny_parlai_model(tmp_path: Path, db_url: str) -> None:
    base = write_pos_neg_task(tmp_path)
    model_file = tmp_path / "m" / "model"
    train_cringe_steps(
        f"fromfile:parlaiformat:fromfile_datapath={base}:fromfile_datatype_extension=true",
        str(tmp_path),
        str(model_file),
        4,
        steps=2,
    )
    app = create_app(db_url, TOKEN)
    client = app.test_client()
    spec = {"name": "tiny", "kind": "model_chat", "model_file": str(model_file), "num_turns": 1, "turn_timeout": 60,
            "overrides": {"inference": "greedy", "beam_size": 1}}  # fmt: skip
    task = create(client, spec)
    unit = start(client, task, "w1")
    response = client.post(f"/unit/{unit}/message", data={"text": "tell me about cats"})
    assert response.status_code == 303, response.get_data(as_text=True)
    page = client.get(f"/unit/{unit}").get_data(as_text=True)
    assert 'class="turn bot"' in page and 'id="finish"' in page
    assert len(app.extensions["cringe_eval"]["pool"].responders) == 1
