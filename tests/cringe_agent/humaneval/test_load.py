"""A bounded load test: 20 simulated workers at once against a real local server (werkzeug in a thread)."""

from __future__ import annotations

import re
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from humaneval_helpers import ADMIN, create, pairwise_spec
from werkzeug.serving import make_server

WORKERS = 20


def complete_unit(base: str, task: int, worker: str) -> int:
    """Run one worker through the pairwise task; return the number of answers given."""
    http = requests.Session()
    page = http.get(f"{base}/start/{task}?worker_id={worker}", timeout=30)
    page.raise_for_status()
    unit_url = page.url
    answered = 0
    while "completion-code" not in page.text:
        pair_id = re.search(r'name="pair_id" value="(\d+)"', page.text).group(1)
        names = re.findall(r'name="speaker_choice" value="([^"]+)"', page.text)
        choice = "good_bot" if "good_bot" in names else names[answered % 2]
        page = http.post(
            f"{unit_url}/answer", data={"pair_id": pair_id, "speaker_choice": choice, "text_reason": f"{worker} says"},
            timeout=30,
        )  # fmt: skip
        page.raise_for_status()
        answered += 1
    return answered


@pytest.mark.integration
def test_twenty_concurrent_workers_each_answer_stored_once(app) -> None:
    client = app.test_client()
    task = create(client, pairwise_spec(pairs=10, subtasks_per_unit=3))
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        base = f"http://127.0.0.1:{server.server_port}"
        with ThreadPoolExecutor(WORKERS) as pool:
            counts = list(pool.map(lambda i: complete_unit(base, task, f"load{i}"), range(WORKERS)))
    finally:
        server.shutdown()
        thread.join(5)
    assert counts == [4] * WORKERS  # the onboarding pair and 3 pairs each
    lines = (
        client.get(f"/admin/tasks/{task}/export/answers.csv", headers=ADMIN).get_data(as_text=True).splitlines()[1:]
    )
    keys = [(line.split(",")[1], line.split(",")[-3]) for line in lines]  # (worker_name, pairing_id)
    assert len(lines) == WORKERS * 4 and len(set(keys)) == len(keys)
    per_pair = [sum(1 for _, p in keys if p == str(i)) for i in range(1, 11)]
    # balanced assignment (best effort under concurrency: two workers may read the same counts at once)
    assert sum(per_pair) == 60 and max(per_pair) - min(per_pair) <= 5, per_pair
