"""End-to-end tests in headless Chromium against a real local server (werkzeug in a thread, a fake model).

A worker completes a model chat and a pairwise task by the study link, the admin watches progress and downloads the
exports, a bot reply holding a script shows as text, and a screenshot of every page is checked. The browser is
Debian's ``chromium`` driven by its ``chromedriver`` (``scripts/setup.sh`` installs both): nothing is downloaded at
run time, and a missing binary fails the tests with the command that installs it.
"""

from __future__ import annotations

import csv
import io
import json
import re
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from humaneval_helpers import TOKEN, chat_spec, create, pairwise_spec
from PIL import Image
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import WebDriverWait
from werkzeug.serving import make_server

from cringe_agent.humaneval.app import create_app

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
INSTALL_HINT = "install it with `sudo apt-get install chromium chromium-driver` (scripts/setup.sh does so as root)"
WAIT_S = 20
WINDOW = (1280, 1024)
MIN_SIZE = (800, 600)
MIN_PIXEL_STD = 5.0
NUM_TURNS = 3
SCRIPT_REPLY = "<script>window.pwned=1</script>"
CODE = re.compile(r"^[0-9A-F]{8}$")

pytestmark = [pytest.mark.timeout(120), pytest.mark.integration]  # launches a browser


class BrowserModel:
    """Replies ``reply to: <last turn>``, or a script element when the worker writes ``xss``."""

    def reply(self, turns: Sequence[str]) -> str:
        """The reply to the last turn."""
        return SCRIPT_REPLY if turns[-1] == "xss" else f"reply to: {turns[-1]}"


@dataclass
class Server:
    """The live server: its base URL, a test client of the same app (to create tasks), and the downloads folder."""

    base: str
    client: Any
    downloads: Path


@dataclass
class Screens:
    """The screenshots taken so far, by page name, under ``folder``."""

    folder: Path
    shots: dict[str, Path] = field(default_factory=dict)


@dataclass
class ChatRun:
    """What the chat worker did and saw."""

    task: int
    worker: str
    messages: list[str]
    marks: dict[int, list[str]]
    comments: dict[int, str]
    rating: int
    replies: list[str]
    code: str


@dataclass
class PairwiseRun:
    """What the pairwise worker did and saw: ``(pair_id, choice, reason, onboarding)`` per page, and the code."""

    task: int
    worker: str
    answers: list[tuple[int, str, str, bool]]
    code: str


def check_screenshot(path: Path) -> np.ndarray:
    """Decode the PNG at ``path`` and check it is at least 800x600 and not blank; return its pixels."""
    with Image.open(path) as image:
        assert image.format == "PNG", path
        pixels = np.asarray(image.convert("RGB"), dtype=np.float64)
    height, width = pixels.shape[:2]
    assert width >= MIN_SIZE[0] and height >= MIN_SIZE[1], f"{path}: {width}x{height}, smaller than 800x600"
    assert pixels.std() > MIN_PIXEL_STD, f"{path} looks blank: pixel std {pixels.std():.2f} <= {MIN_PIXEL_STD}"
    return pixels


def shoot(driver: WebDriver, screens: Screens, name: str, heading: str) -> Path:
    """Check the heading (``<h1>`` and the visible text), save a screenshot as ``<name>.png`` and check it."""
    h1 = wait(driver).until(ec.visibility_of_element_located(("tag name", "h1")))
    assert h1.text == heading, (name, h1.text)
    assert heading in driver.find_element("tag name", "body").text, name
    path = screens.folder / f"{name}.png"
    assert driver.save_screenshot(str(path)), path
    check_screenshot(path)
    screens.shots[name] = path
    return path


def wait(driver: WebDriver) -> WebDriverWait:
    """An explicit wait of up to ``WAIT_S`` seconds."""
    return WebDriverWait(driver, WAIT_S)


def submit_and_wait(driver: WebDriver, button: WebElement) -> None:
    """Click a submit button and wait until the next page has replaced this one."""
    html = driver.find_element("tag name", "html")
    button.click()
    wait(driver).until(ec.staleness_of(html))
    wait(driver).until(lambda d: d.execute_script("return document.readyState") == "complete")


def fill(driver: WebDriver, css: str, text: str) -> None:
    """Clear the input at ``css`` and type ``text``."""
    box = driver.find_element("css selector", css)
    box.clear()
    box.send_keys(text)


def tick(driver: WebDriver, name: str, value: str) -> None:
    """Click the checkbox or radio button ``name=value`` and check it is selected."""
    box = driver.find_element("css selector", f'input[name="{name}"][value="{value}"]')
    box.click()
    assert box.is_selected(), (name, value)


def completion_code(driver: WebDriver, screens: Screens, name: str) -> str:
    """The completion code of the thank-you page (screenshot ``name``)."""
    code = wait(driver).until(ec.visibility_of_element_located(("id", "completion-code"))).text
    shoot(driver, screens, name, "Thank you!")
    assert CODE.match(code), code
    return code


def wait_download(driver: WebDriver, path: Path) -> str:
    """Wait until the browser has finished downloading ``path``; return its text."""
    partial = path.with_name(path.name + ".crdownload")
    wait(driver).until(lambda _: path.exists() and not partial.exists() and path.stat().st_size > 0)
    return path.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def browser(server: Server) -> Iterator[WebDriver]:
    """Headless Chromium (Debian's binaries, named explicitly), downloading into the server's downloads folder."""
    for binary, package in ((CHROMIUM, "chromium"), (CHROMEDRIVER, "chromium-driver")):
        if not binary.is_file():
            pytest.fail(f"{binary} not found: the browser tests need Debian's {package} package; {INSTALL_HINT}")
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                f"--window-size={WINDOW[0]},{WINDOW[1]}", "--no-first-run", "--disable-extensions"):  # fmt: skip
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service(executable_path=str(CHROMEDRIVER)), options=options)
    try:
        driver.execute_cdp_cmd(
            "Browser.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(server.downloads)}
        )
        yield driver
    finally:
        driver.quit()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """The app on a fresh SQLite file with :class:`BrowserModel`, served on a free localhost port."""
    folder = tmp_path_factory.mktemp("browser")
    app = create_app(f"sqlite:///{folder / 'eval.sqlite'}", TOKEN, responder_factory=lambda config: BrowserModel())
    httpd = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    downloads = folder / "downloads"
    downloads.mkdir()
    try:
        yield Server(f"http://127.0.0.1:{httpd.server_port}", app.test_client(), downloads)
    finally:
        httpd.shutdown()
        thread.join(5)


@pytest.fixture(scope="module")
def screens(tmp_path_factory: pytest.TempPathFactory) -> Screens:
    """The folder of this module's screenshots."""
    return Screens(tmp_path_factory.mktemp("screenshots"))


@pytest.fixture(scope="module")
def chat_run(browser: WebDriver, server: Server, screens: Screens) -> ChatRun:
    """A worker opens the study link and chats for ``NUM_TURNS`` turns, marks every reply, comments on one, rates."""
    task = create(server.client, chat_spec(name="browser_chat", num_turns=NUM_TURNS, turn_timeout=10))
    worker = "chat-worker"
    messages = [f"hello number {i + 1}" for i in range(NUM_TURNS)]
    marks = {1: ["none_all_good"], 3: ["bad"], 5: ["unsafe", "contradiction"]}
    comments = {3: "off topic & <b>rude</b>"}
    browser.get(f"{server.base}/start/{task}?worker_id={worker}")
    replies = []
    for i, text in enumerate(messages):
        shoot(browser, screens, f"chat_turn{i + 1}", "Chat with a model")
        if i:
            _annotate(browser, 2 * i - 1, marks, comments)
        fill(browser, "#text", text)
        submit_and_wait(browser, browser.find_element("id", "send"))
        reply = wait(browser).until(ec.visibility_of_element_located(("id", f"turn-{2 * i + 1}"))).text
        assert browser.find_element("id", f"turn-{2 * i}").text == text
        replies.append(reply)
    shoot(browser, screens, "chat_rating", "Chat with a model")
    assert not browser.find_elements("id", "send")
    _annotate(browser, 2 * NUM_TURNS - 1, marks, comments)
    tick(browser, "rating", "4")
    submit_and_wait(browser, browser.find_element("id", "finish"))
    code = completion_code(browser, screens, "chat_done")
    return ChatRun(task, worker, messages, marks, comments, 4, replies, code)


def _annotate(driver: WebDriver, turn: int, marks: dict[int, list[str]], comments: dict[int, str]) -> None:
    """Mark bot turn ``turn`` with its buckets and comment."""
    assert driver.find_element("id", "annotation").is_displayed()
    for value in marks[turn]:
        tick(driver, "bucket", value)
    if turn in comments:
        fill(driver, "#feedback", comments[turn])


@pytest.fixture(scope="module")
def pairwise_run(browser: WebDriver, server: Server, screens: Screens) -> PairwiseRun:
    """A worker opens the study link and answers the onboarding pair and two pairs."""
    task = create(server.client, pairwise_spec(name="browser_acute", pairs=4))
    worker = "pair-worker"
    browser.get(f"{server.base}/start/{task}?worker_id={worker}")
    answers: list[tuple[int, str, str, bool]] = []
    while not browser.find_elements("id", "completion-code"):
        assert len(answers) < 5, "the pairwise task does not end"
        shoot(browser, screens, f"pairwise_{len(answers) + 1}", "Compare two conversations")
        assert browser.find_element("id", "left").text and browser.find_element("id", "right").text
        pair_id = int(browser.find_element("css selector", 'input[name="pair_id"]').get_attribute("value"))
        names = [
            e.get_attribute("value") for e in browser.find_elements("css selector", 'input[name="speaker_choice"]')
        ]
        onboarding = "good_bot" in names
        choice = "good_bot" if onboarding else names[len(answers) % 2]
        reason = f"{choice} reads better, page {len(answers) + 1}"
        tick(browser, "speaker_choice", choice)
        fill(browser, "#text_reason", reason)
        submit_and_wait(browser, browser.find_element("id", "submit"))
        answers.append((pair_id, choice, reason, onboarding))
    code = completion_code(browser, screens, "pairwise_done")
    return PairwiseRun(task, worker, answers, code)


def test_worker_completes_model_chat(chat_run: ChatRun, screens: Screens) -> None:
    assert chat_run.replies == [f"reply to: {m}" for m in chat_run.messages]
    assert CODE.match(chat_run.code)
    assert {f"chat_turn{i + 1}" for i in range(NUM_TURNS)} | {"chat_rating", "chat_done"} <= set(screens.shots)


def test_worker_completes_pairwise_task_with_onboarding(pairwise_run: PairwiseRun) -> None:
    onboarding = [a for a in pairwise_run.answers if a[3]]
    assert len(onboarding) == 1 and pairwise_run.answers[0][3], pairwise_run.answers  # the onboarding pair first
    assert len(pairwise_run.answers) == 3  # and subtasks_per_unit=2 pairs
    assert len({a[0] for a in pairwise_run.answers}) == 3
    assert CODE.match(pairwise_run.code)


def test_admin_sees_progress_and_downloads_exports(
    browser: WebDriver, server: Server, screens: Screens, chat_run: ChatRun, pairwise_run: PairwiseRun
) -> None:
    browser.get(f"{server.base}/admin/?token={TOKEN}")
    shoot(browser, screens, "admin", "Tasks")
    for task, kind, items in ((chat_run.task, "model_chat", 2 * NUM_TURNS), (pairwise_run.task, "pairwise", 3)):
        cells = [c.text for c in browser.find_elements("css selector", f"#task-{task} td")]
        assert cells[2:6] == [kind, "1", "1", str(items)], cells
        assert cells[6].endswith(f"/start/{task}?worker_id={{PARTICIPANT_ID}}"), cells

    record = json.loads(_download(browser, server, chat_run.task, "conversations.jsonl"))
    dialog = record["dialog"]
    assert [t["text"] for t in dialog[0::2]] == chat_run.messages
    assert [t["text"] for t in dialog[1::2]] == chat_run.replies
    for turn, buckets in chat_run.marks.items():
        assert {k for k, v in dialog[turn]["problem_data"].items() if v} == set(buckets), (turn, dialog[turn])
        assert dialog[turn].get("feedback_text", "") == chat_run.comments.get(turn, ""), dialog[turn]
    assert record["final_rating"] == chat_run.rating and record["workers"] == [chat_run.worker]

    rows = list(csv.DictReader(io.StringIO(_download(browser, server, pairwise_run.task, "answers.csv"))))
    got = [(int(r["pairing_id"]), r["speaker_choice"], r["reason"], r["is_onboarding"] == "True") for r in rows]
    assert got == pairwise_run.answers
    assert {r["worker_name"] for r in rows} == {pairwise_run.worker}
    assert [r["correct"] for r in rows if r["is_onboarding"] == "True"] == ["1"]


def _download(driver: WebDriver, server: Server, task: int, name: str) -> str:
    """Click the admin page's export link ``name`` of ``task``; return the downloaded file's text."""
    if not driver.find_elements("id", f"export-{task}-{name}"):
        driver.get(f"{server.base}/admin/?token={TOKEN}")
    link = wait(driver).until(ec.element_to_be_clickable(("id", f"export-{task}-{name}")))
    target = server.downloads / name
    target.unlink(missing_ok=True)
    link.click()
    return wait_download(driver, target)


def test_script_in_a_bot_reply_shows_as_text(browser: WebDriver, server: Server, screens: Screens) -> None:
    task = create(server.client, chat_spec(name="browser_xss", num_turns=2, turn_timeout=10))
    browser.get(f"{server.base}/start/{task}?worker_id=xss-worker")
    fill(browser, "#text", "xss")
    submit_and_wait(browser, browser.find_element("id", "send"))
    reply = wait(browser).until(ec.visibility_of_element_located(("id", "turn-1")))
    assert browser.execute_script("return typeof window.pwned") == "undefined"
    assert reply.text == SCRIPT_REPLY
    tick(browser, "bucket", "unsafe")
    worker_html = '<img src="x" onerror="window.pwned=2">'
    fill(browser, "#text", worker_html)
    submit_and_wait(browser, browser.find_element("id", "send"))
    assert wait(browser).until(ec.visibility_of_element_located(("id", "turn-2"))).text == worker_html
    assert browser.find_element("id", "turn-1").text == SCRIPT_REPLY
    assert browser.find_element("id", "turn-3").text == f"reply to: {worker_html}"
    shoot(browser, screens, "chat_script_reply", "Chat with a model")
    assert browser.execute_script("return typeof window.pwned") == "undefined"
    assert not browser.find_elements("css selector", "#dialog script, #dialog img")


def test_screenshots_of_every_page(
    browser: WebDriver, screens: Screens, chat_run: ChatRun, pairwise_run: PairwiseRun, tmp_path: Path
) -> None:
    expected = {f"chat_turn{i + 1}" for i in range(NUM_TURNS)} | {"chat_rating", "chat_done", "pairwise_done"}
    expected |= {f"pairwise_{i + 1}" for i in range(len(pairwise_run.answers))}
    assert expected <= set(screens.shots), sorted(set(screens.shots))
    assert sorted(screens.folder.glob("*.png")) == sorted(screens.shots.values())
    images = {name: check_screenshot(path) for name, path in screens.shots.items()}
    # the pages' pictures differ: the chat's first page, the rating form, the thank-you page, a pair
    firsts = [images[name] for name in ("chat_turn1", "chat_rating", "chat_done", "pairwise_1")]
    for i, a in enumerate(firsts):
        assert all(a.shape != b.shape or not np.array_equal(a, b) for b in firsts[i + 1 :])
    # and a blank page fails the check
    browser.get("about:blank")
    blank = tmp_path / "blank.png"
    assert browser.save_screenshot(str(blank))
    with pytest.raises(AssertionError, match="looks blank"):
        check_screenshot(blank)
