"""`tutor serve` in a real browser: the server as a real process, driven with headless Chromium (Debian's
`chromium` and `chromium-driver`, through selenium; nothing is downloaded at run time). Skips with one
line naming what is missing. The real embedding model and the built-in offline model answer."""

from __future__ import annotations

import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
DRIVER = shutil.which("chromedriver")
try:
    import selenium  # noqa: F401
    MISSING = [] if CHROMIUM and DRIVER else [n for n, p in (("chromium", CHROMIUM), ("chromium-driver", DRIVER)) if not p]
except ImportError:
    MISSING = ["selenium (pip install selenium)"]

pytestmark = [pytest.mark.slow, pytest.mark.skipif(bool(MISSING), reason=f"browser tests need {', '.join(MISSING)}")]


def _env(home: Path) -> dict[str, str]:
    env = dict(os.environ, TUTOR_HOME=str(home), TUTOR_EMBEDDER="minilm", CREWAI_DISABLE_TELEMETRY="true",
               OTEL_SDK_DISABLED="true", LITELLM_LOCAL_MODEL_COST_MAP="True", COLUMNS="200")
    for name in ("TUTOR_MODEL", "TUTOR_BASE_URL", "OPENAI_API_KEY", "TUTOR_CONFIG_DIR", "TUTOR_KNOWLEDGE_DIR"):
        env.pop(name, None)
    return env


def cli(home: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "tutor", *args], env=_env(home), capture_output=True, text=True,
                          timeout=300, cwd=home.parent)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    home = tmp_path_factory.mktemp("web") / "home"
    proc = subprocess.Popen([sys.executable, "-m", "tutor", "serve", "--port", "0"], env=_env(home),
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=home.parent)
    url, seen, deadline = None, [], time.time() + 240
    while time.time() < deadline and url is None:
        line = proc.stdout.readline()
        if not line:
            break
        seen.append(line)
        m = re.search(r"serving at (http://127\.0\.0\.1:\d+/)", line)
        url = m.group(1) if m else None
    if url is None:
        proc.kill()
        pytest.fail("tutor serve did not start: " + "".join(seen)[-2000:])
    yield {"url": url, "home": home}
    proc.terminate()
    proc.wait(timeout=30)


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    downloads = tmp_path_factory.mktemp("downloads")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", "--window-size=1280,2000"):
        options.add_argument(arg)
    options.add_experimental_option("prefs", {"download.default_directory": str(downloads),
                                              "download.prompt_for_download": False})
    driver = webdriver.Chrome(service=Service(DRIVER), options=options)
    driver.set_page_load_timeout(240)
    driver.downloads = downloads
    yield driver
    driver.quit()


def by_css(driver, selector):
    from selenium.webdriver.common.by import By

    return driver.find_elements(By.CSS_SELECTOR, selector)


def click_and_load(driver, element, timeout: float = 240) -> None:
    """Click what leaves the page (a form's button, a link) and wait until the next page has loaded: a newer
    Chromium returns from a click before the navigation it starts (CI's 156 did; 150 waited)."""
    from selenium.webdriver.support import expected_conditions as EC
    from selenium.webdriver.support.ui import WebDriverWait

    from selenium.common.exceptions import WebDriverException

    old = driver.find_element("tag name", "html")
    driver.execute_script("arguments[0].scrollIntoView({block: 'center', behavior: 'instant'})", element)
    element.click()

    def left(d) -> bool:  # the old page is gone; Chromium may say so as "Node ... does not belong to the document"
        try:
            return EC.staleness_of(old)(d)
        except WebDriverException as e:
            if "does not belong to the document" in str(e):
                return True
            raise

    WebDriverWait(driver, timeout).until(left)
    WebDriverWait(driver, timeout).until(lambda d: d.execute_script("return document.readyState") == "complete")


def click(driver, element) -> None:
    """Click an element of this page (the page stays): scrolled to first, at once (the CSS base scrolls smoothly,
    and a click during the scroll lands on whatever passes under it)."""
    driver.execute_script("arguments[0].scrollIntoView({block: 'center', behavior: 'instant'})", element)
    element.click()


def page_text(driver) -> str:
    """What the page says, for an assertion's message."""
    return driver.find_element("tag name", "body").text[:1500]


def test_study_a_topic_and_see_its_figure(server, browser):
    browser.get(server["url"] + "study?topic=attention")
    assert by_css(browser, "article.lesson h1"), browser.page_source[:2000]
    images = by_css(browser, "img.figure")
    assert images, "the lesson shows no figure"
    loaded = browser.execute_script("return arguments[0].complete && arguments[0].naturalWidth", images[0])
    assert loaded and loaded > 100
    assert by_css(browser, "table.metrics td")
    shot = Path(browser.downloads) / "lesson.png"
    browser.set_window_size(1100, 1400)
    browser.save_screenshot(str(shot))
    if os.environ.get("TUTOR_UPDATE_SCREENSHOT"):  # the README's picture of the lesson page
        target = Path(__file__).resolve().parent.parent / "docs" / "lesson-page.png"
        target.parent.mkdir(exist_ok=True)
        from PIL import Image

        Image.open(shot).convert("RGB").quantize(colors=64).save(target, optimize=True)  # a small PNG
    assert shot.stat().st_size > 10_000
    # Everything the page loaded came from tutor serve itself.
    sources = browser.execute_script("return performance.getEntriesByType('resource').map(e => e.name)")
    assert sources and all(s.startswith(server["url"]) for s in sources), sources
    server["lesson"] = browser.current_url  # the kept lesson (study?topic=...&lesson=ID): later tests reuse it
    links = [a.get_attribute("href") for a in by_css(browser, "article.lesson a[href*='/notes/']")]
    link = by_css(browser, "article.lesson a[href*='/notes/']")[0]
    click_and_load(browser, link)
    assert by_css(browser, ".highlight"), page_text(browser)
    # Every citation of the lesson lands on an existing element, highlighted (a subsection's heading or a bullet
    # as well as a section).
    for href in sorted(set(links)):
        browser.get(href)
        target = browser.execute_script("return document.getElementById(decodeURIComponent(location.hash.slice(1)))")
        assert target is not None, href
        assert "highlight" in (target.get_attribute("class") or ""), href


def test_a_check_question_is_answered_in_place_without_reloading_the_lesson(server, browser):
    from selenium.webdriver.support.ui import WebDriverWait

    browser.get(server["lesson"])
    browser.execute_script("window.__stillHere = 42")
    box = by_css(browser, "form.check textarea")[0]
    box.send_keys("It switches off random neurons during training so the network cannot rely on any one of them.")
    click(browser, by_css(browser, "form.check button")[0])
    WebDriverWait(browser, 120).until(lambda d: by_css(d, "#check-1 .check-result .grade"))
    assert browser.execute_script("return window.__stillHere") == 42  # the same page: not left, not re-run
    rate_in_place = [b for b in by_css(browser, "#check-1 form.rate button") if b.get_attribute("value") == "good"]
    if rate_in_place:  # the grader was not sure: the rating is answered in place too
        click(browser, rate_in_place[0])
        WebDriverWait(browser, 60).until(lambda d: not by_css(d, "#check-1 form.rate"))
        assert browser.execute_script("return window.__stillHere") == 42
    click(browser, by_css(browser, "form.check button")[1])  # a blank answer: a note under the question
    WebDriverWait(browser, 60).until(lambda d: by_css(d, "#check-2 .check-result .note"))
    assert "Write your answer first" in by_css(browser, "#check-2 .note")[0].text
    assert browser.execute_script("return window.__stillHere") == 42
    with sqlite3.connect(server["home"] / "learner.db") as con:
        lessons = con.execute("SELECT COUNT(*) FROM lessons").fetchone()[0]
        sections = [r[0] for r in con.execute("SELECT section FROM answers WHERE quiz_id IS NULL")]
    assert lessons == 1 and sections and all(sections), sections  # one lesson; the answer under its section


def _quiz_seed(home: Path) -> tuple[int, list[dict]]:
    """A seed whose three mixed items include a multiple choice and a free-text question."""
    for seed in range(1, 40):
        items = json.loads(cli(home, "quiz", "--json", "--n", "3", "--kind", "mixed", "--seed", str(seed)).stdout)["items"]
        kinds = [i["kind"] for i in items]
        if len(items) == 3 and "mcq" in kinds and "short" in kinds:
            return seed, items
    pytest.fail("no seed gave a multiple choice and a short question")


def rate_if_asked(browser, rating: str) -> None:
    """Where the page asks for a rating (Again / Hard / Good / Easy: after an unsure grade, or a graded review
    answer), click one."""
    buttons = [b for b in by_css(browser, "form.rate button") if b.get_attribute("value") == rating]
    if buttons:
        click_and_load(browser, buttons[0])


def test_take_a_three_question_quiz_clicking_and_typing_and_find_it_in_progress(server, browser):
    from selenium.webdriver.support.ui import Select

    seed, items = _quiz_seed(server["home"])
    browser.get(server["url"] + "quiz")
    by_css(browser, "input[name=n]")[0].clear()
    by_css(browser, "input[name=n]")[0].send_keys("3")
    Select(by_css(browser, "select[name=kind]")[0]).select_by_value("mixed")
    by_css(browser, "details summary")[0].click()  # "Replay a quiz": the seed
    by_css(browser, "input[name=seed]")[0].send_keys(str(seed))
    click_and_load(browser, by_css(browser, "form.stack button")[0])
    for number, item in enumerate(items, start=1):
        headings = by_css(browser, "h1")
        assert headings and f"Question {number}/3" in headings[0].text, page_text(browser)
        if item.get("options"):
            letter = "ABCDE"[item["options"].index(item["answer"])]
            click_and_load(browser, next(b for b in by_css(browser, "button.option") if b.text.startswith(f"{letter}.")))
        else:
            by_css(browser, "textarea[name=answer]")[0].send_keys(item["answer"])
            click_and_load(browser, by_css(browser, "form.answer button")[0])
            rate_if_asked(browser, "good")  # the notes' own answer: it says the key point
        assert by_css(browser, "div.grade") or by_css(browser, "p.dim"), page_text(browser)
    headings = by_css(browser, "h1")
    assert headings and "Score:" in headings[0].text, page_text(browser)
    assert len(by_css(browser, "li.recap-row")) == 3, page_text(browser)  # a recap row per question
    server["recap"] = browser.current_url
    progress = json.loads(cli(server["home"], "progress", "--json").stdout)
    assert progress["attempts"] >= 3 and progress["quizzes"] >= 1


def test_review_a_due_card(server, browser):
    with sqlite3.connect(server["home"] / "learner.db") as con:
        assert con.execute("SELECT COUNT(*) FROM cards").fetchone()[0] > 0, "take the quiz first"
        con.execute("UPDATE cards SET due = '2000-01-01T00:00:00.000000+00:00'")
    browser.get(server["url"] + "review")
    question = by_css(browser, "p.question")[0].text
    by_css(browser, "textarea[name=answer]")[0].send_keys("I am not sure")
    click_and_load(browser, by_css(browser, "form.answer button")[0])
    # The typed answer is graded (its verdict, or "Not sure" with the key point), then the four ratings with dates.
    assert by_css(browser, "div.grade"), page_text(browser)
    buttons = by_css(browser, "form.ratings button")
    assert [b.get_attribute("value") for b in buttons] == ["again", "hard", "good", "easy"], page_text(browser)
    assert all(re.search(r"\d", b.text) for b in buttons)  # "Again\n1 day"
    suggested = by_css(browser, "form.ratings button.suggested")
    assert len(suggested) <= 1 and (not suggested or "SUGGESTED" in suggested[0].text.upper())
    if suggested:  # pre-selected: the focused button, so Enter takes it
        assert browser.switch_to.active_element == suggested[0]
    date = buttons[0].get_attribute("title").removeprefix("next review on ")
    assert not axe_problems(browser)  # the graded answer with its ratings: no serious or critical violation
    for size in (PHONE, DESKTOP):  # and it fits a phone
        browser.set_window_size(*size)
        inner, scroll = browser.execute_script("return [window.innerWidth, document.documentElement.scrollWidth]")
        assert scroll <= inner, (size, scroll, inner)
        if os.environ.get("TUTOR_UPDATE_SCREENSHOT"):
            from PIL import Image

            shot = Path(browser.downloads) / f"review-graded-{size[0]}.png"
            browser.save_screenshot(str(shot))
            target = Path(__file__).resolve().parent.parent / "docs" / "screens" / shot.name
            Image.open(shot).convert("RGB").quantize(colors=64).save(target, optimize=True)
    browser.set_window_size(1280, 2000)
    buttons = by_css(browser, "form.ratings button")
    click_and_load(browser, buttons[0])
    assert question in browser.page_source or by_css(browser, "section.last")
    assert "next review:" in browser.page_source and "(your own rating)" in browser.page_source
    with sqlite3.connect(server["home"] / "learner.db") as con:
        self_rated, due = con.execute("SELECT a.self_rated, c.due FROM answers a JOIN cards c ON c.id = a.card_id "
                                      "ORDER BY a.id DESC LIMIT 1").fetchone()
    assert self_rated == 1
    from datetime import datetime

    assert datetime.fromisoformat(due).strftime("%d %b %Y") == date  # the date the button said
    # "Show answer", then the four self-ratings, each with when the card comes back.
    with sqlite3.connect(server["home"] / "learner.db") as con:
        con.execute("UPDATE cards SET due = '2000-01-01T00:00:00.000000+00:00'")
    browser.get(server["url"] + "review")
    click_and_load(browser, by_css(browser, "form.show button")[0])
    server["review_shown"] = browser.current_url
    buttons = by_css(browser, "form.ratings button")
    assert [b.get_attribute("value") for b in buttons] == ["again", "hard", "good", "easy"], page_text(browser)
    assert all(re.search(r"\d", b.text) for b in buttons)  # "Good\n4 days"
    click_and_load(browser, buttons[2])
    assert "You rated yourself Good" in page_text(browser) and "next review:" in browser.page_source


def test_upload_a_class_file_and_download_the_grades(server, browser, tmp_path):
    class_file = tmp_path / "class.csv"
    class_file.write_text("id,question,answer,reference\n"
                          "a1,What does dropout do?,It switches off random neurons while training.,Dropout randomly drops neurons during training.\n"
                          "a2,What does dropout do?,,Dropout randomly drops neurons during training.\n", encoding="utf-8")
    browser.get(server["url"] + "teacher/grade")
    by_css(browser, "input[type=file]")[0].send_keys(str(class_file))
    click_and_load(browser, by_css(browser, "form.stack button")[0])
    rows = by_css(browser, "table.grades tbody tr")
    assert len(rows) == 2 and "incorrect" in rows[1].text.lower(), page_text(browser)
    server["class"] = browser.current_url
    by_css(browser, "a[download]")[0].click()
    target = Path(browser.downloads) / "grades.csv"
    deadline = time.time() + 20
    while not target.exists() and time.time() < deadline:
        time.sleep(0.2)
    lines = target.read_text(encoding="utf-8").strip().splitlines()
    assert lines[0].startswith("id,question,answer,reference,score,verdict") and len(lines) == 3


PHONE, DESKTOP = (390, 844), (1280, 900)
AXE = [Path(p) for p in (os.environ.get("AXE_CORE_JS", ""),
                         Path(__file__).resolve().parent.parent / ".ci/axe/node_modules/axe-core/axe.min.js") if p]


def axe_problems(driver) -> list[str]:
    """Serious and critical accessibility violations axe-core finds on this page (axe-core from the npm registry,
    installed by .ci/run; none when it is not installed)."""
    script = next((p for p in AXE if p.is_file()), None)
    if script is None:
        return []
    driver.execute_script(script.read_text(encoding="utf-8"))
    driver.set_script_timeout(120)
    found = driver.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "axe.run(document, {resultTypes: ['violations']}).then(r => done(r.violations.map("
        "v => [v.id, v.impact, v.nodes.slice(0, 3).map(n => n.target.join(' ')).join(' | ')])))")
    return [f"{rule} ({impact}): {where}" for rule, impact, where in found if impact in ("serious", "critical")]


@pytest.mark.parametrize("size", [PHONE, DESKTOP], ids=["phone-390", "desktop-1280"])
def test_no_page_scrolls_sideways_or_shows_a_server_path(server, browser, size):
    """Every page at a phone's width and a desktop's: nothing wider than the window; no server path shown."""
    pages = {"home": "", "lesson": server.get("lesson"), "ask": "ask?q=what+is+dropout", "quiz": "quiz",
             "recap": server.get("recap"), "review": "review", "review-answer": server.get("review_shown"),
             "progress": "progress", "search": "search?q=dropout", "notes": "notes/03-cnns.md?hl=5.%20Architectural"
             "%20Enhancements%20Inspired%20by%20the%20ILSVRC%20%3E%20AlexNet", "teacher": "teacher/grade",
             "missing": "no/such/page"}
    browser.set_window_size(*size)
    wide, problems, shots = [], [], Path(browser.downloads)
    try:
        for name, page in pages.items():
            if page is None:
                continue  # the test that makes this page did not run (run with -k)
            browser.get(page if page.startswith("http") else server["url"] + page)
            inner, scroll = browser.execute_script(
                "return [window.innerWidth, document.documentElement.scrollWidth]")
            if scroll > inner:
                wide.append((name, scroll, inner))
            if size == DESKTOP:
                problems.extend(f"{name}: {p}" for p in axe_problems(browser))
            assert str(server["home"]) not in browser.page_source, name
            assert not re.search(r"/tmp/|/home/\w|tutor-upload", browser.find_element("tag name", "body").text), name
            shot = shots / f"{name}-{size[0]}.png"
            browser.save_screenshot(str(shot))
            if os.environ.get("TUTOR_UPDATE_SCREENSHOT"):  # the pictures in docs/ (the README shows two)
                from PIL import Image

                target = Path(__file__).resolve().parent.parent / "docs" / "screens" / shot.name
                target.parent.mkdir(parents=True, exist_ok=True)
                Image.open(shot).convert("RGB").quantize(colors=64).save(target, optimize=True)
    finally:
        browser.set_window_size(1280, 2000)
    assert not wide, f"pages wider than the window (name, scrollWidth, innerWidth): {wide}"
    assert not problems, "serious or critical accessibility violations (axe-core):\n" + "\n".join(problems)
