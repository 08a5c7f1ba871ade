"""`tutor serve` at the HTTP level (Starlette's TestClient on the real app, a real SQLite record, the
index under the test's TUTOR_HOME): every page, the same record as the terminal, escaping, the token,
cross-site forms and uploads. The browser tests are in test_web_browser.py."""

from __future__ import annotations

import html
import json
import re
import sqlite3

import pytest
from starlette.testclient import TestClient

from tutor.settings import get_settings
from tutor.web.app import CSRF_COOKIE, create_app


@pytest.fixture
def client():
    get_settings.cache_clear()
    with TestClient(create_app()) as c:
        c.get("/")  # the CSRF cookie
        yield c


def csrf(client) -> str:
    return client.cookies.get(CSRF_COOKIE)


def text_of(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def test_every_page_answers(client):
    pages = {"/": "What next?", "/search?q=dropout": "Regularization", "/ask": "Ask your own question",
             "/study": "Topic", "/quiz": "A quiz from the notes", "/review": "Nothing is due",
             "/progress": "Progress of default", "/teacher/grade": "Grade a class",
             "/notes/02-training-neural-networks.md": "Dropout"}
    for url, expected in pages.items():
        r = client.get(url)
        assert r.status_code == 200, url
        assert expected in text_of(r.text), url
        assert "default-src 'self'" in r.headers["content-security-policy"]
        for link in re.findall(r'(?:src|href|action)="([^"]*)"', r.text):  # nothing from the network
            assert link.startswith(("/", "#", "?")) and not link.startswith("//"), (url, link)
    missing = client.get("/no/such/page")
    assert missing.status_code == 404 and "no such page" in missing.text


def test_search_links_each_hit_to_its_section_in_the_notes_highlighted(client):
    page = client.get("/search?q=dropout randomly drops neurons").text
    links = [m.replace("&amp;", "&") for m in re.findall(r'href="(/notes/[^"]+)"', page)]
    link = next(m for m in links if "Regularization" in m)
    notes = client.get(link).text
    assert 'class=highlight' in notes
    highlighted = notes.split("class=highlight", 1)[1].split("</section>", 1)[0]
    assert "Dropout" in highlighted


def test_study_renders_the_lesson_with_its_check_questions_answerable_in_place(client):
    page = client.get("/study?topic=dropout&demo=0").text
    assert "<h1>" in page and "Check your understanding" in page
    assert 'href="/notes/02-training-neural-networks.md' in page  # citations link to the notes
    forms = re.findall(r'<form action="/check" method="post".*?</form>', page, re.S)
    assert len(forms) >= 3
    fields = dict(re.findall(r'name="(lesson|index)" value="([^"]*)"', forms[0]))
    reference = client.app.state.web.sessions["lesson:" + fields["lesson"]]["checks"][0]["reference"]
    r = client.post("/check", data={"csrf": csrf(client), **fields, "answer": reference},
                    headers={"X-Requested-With": "fetch"})
    assert r.status_code == 200 and 'class="grade' in r.text and "<html" not in r.text  # only the result


def test_a_quiz_in_the_browser_is_recorded_like_the_terminals(client, tutor):
    start = client.post("/quiz", data={"csrf": csrf(client), "topic": "", "n": "3", "kind": "mcq",
                                       "level": "mixed", "seed": "21"}, follow_redirects=False)
    assert start.status_code == 303
    url = start.headers["location"]
    items = json.loads(tutor("quiz", "--json", "--n", "3", "--kind", "mcq", "--seed", "21").stdout)["items"]
    for number, item in enumerate(items):
        page = client.get(url).text
        shown = " ".join(html.unescape(text_of(page)).split())
        assert f"Question {number + 1}/3" in shown and " ".join(item["question"].split()) in shown
        assert all(f"{letter}. {' '.join(o.split())}" in shown for letter, o in zip("ABCDE", item["options"]))
        letter = "ABCDE"[item["options"].index(item["answer"])]
        r = client.post(url, data={"csrf": csrf(client), "at": str(number), "option": letter})
        assert r.status_code == 200  # followed the redirect to the next step
    final = client.get(url).text
    assert "Score: 3.0 / 3" in final
    progress = json.loads(tutor("progress", "--json").stdout)
    assert progress["attempts"] == 3 and progress["quizzes"] == 1 and progress["cards"] == 3


def rate_if_asked(client, page: str, rating: str = "again") -> str:
    """Where the page asks for a rating (a graded review answer, or an unsure grade: "Does your answer say this?"),
    rate it Again / Hard / Good / Easy."""
    form = re.search(r'<form action="([^"]+)" method="post" class="ratings rate">(.*?)</form>', page, re.S)
    if not form:
        return page
    fields = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', form.group(2)))
    return client.post(html.unescape(form.group(1)), data={**fields, "csrf": csrf(client), "rating": rating}).text


def test_a_resubmitted_answer_is_not_recorded_twice(client, tutor):
    url = client.post("/quiz", data={"csrf": csrf(client), "n": "2", "kind": "short", "seed": "4"},
                      follow_redirects=False).headers["location"]
    for _ in range(2):  # the same form sent twice (a double click, a reload)
        page = client.post(url, data={"csrf": csrf(client), "at": "0", "answer": "an answer"}).text
    rate_if_asked(client, page)
    assert json.loads(tutor("progress", "--json").stdout)["attempts"] == 1


def test_review_answers_a_due_card_and_reschedules_it(client, tutor, tutor_home):
    url = client.post("/quiz", data={"csrf": csrf(client), "n": "1", "kind": "short", "seed": "8"},
                      follow_redirects=False).headers["location"]
    rate_if_asked(client, client.post(url, data={"csrf": csrf(client), "at": "0", "answer": "something"}).text)
    with sqlite3.connect(tutor_home / "learner.db") as con:
        con.execute("UPDATE cards SET due = '2000-01-01T00:00:00.000000+00:00'")
    page = client.get("/review").text
    card = re.search(r'name="card" value="(\d+)"', page).group(1)
    done = rate_if_asked(client, client.post("/review", data={"csrf": csrf(client), "card": card, "answer": "my answer"}).text)
    assert "next review:" in done and "Nothing is due" in done
    assert json.loads(tutor("progress", "--json").stdout)["due"] == 0


def test_text_from_notes_learners_and_topics_is_shown_not_run(client, tutor, tmp_path):
    page = client.get("/study?topic=<script>alert(1)</script>&demo=0").text
    assert "<script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    note = tmp_path / "mine.md"
    note.write_text("# Mine\n\n<img src=x onerror=alert(1)> and <script>alert(2)</script> text\n", encoding="utf-8")
    assert tutor("index", str(note)).exit_code == 0
    shown = client.get("/notes/mine.md").text
    assert "<img" not in shown and "<script>" not in shown and "&lt;script&gt;" in shown
    assert client.get("/notes/..%2F..%2Fetc%2Fpasswd").status_code == 404
    answer = client.post("/check", data={"csrf": csrf(client), "question": "Q<b>", "reference": "r",
                                         "answer": "<script>alert(3)</script>"}).text
    assert "<script>alert(3)" not in answer and "Q<b>" not in answer


def test_a_post_without_the_pages_own_token_is_refused(client):
    assert client.post("/quiz", data={"n": "1"}).status_code == 403
    assert client.post("/quiz", data={"n": "1", "csrf": "forged"}).status_code == 403
    other = TestClient(client.app)  # another site: no cookie of ours
    assert other.post("/quiz", data={"n": "1", "csrf": csrf(client)}).status_code == 403


def test_with_a_token_every_request_needs_it():
    get_settings.cache_clear()
    with TestClient(create_app(token="s3cret-token-value")) as c:
        assert c.get("/").status_code == 401 and "needs its token" in c.get("/").text
        assert c.get("/?token=wrong-token").status_code == 401
        assert c.get("/static/style.css").status_code == 401
        assert c.get("/?token=s3cret-token-value").status_code == 200
        assert c.get("/progress").status_code == 200  # the cookie it set
    with TestClient(create_app(token="s3cret-token-value")) as c:
        assert c.get("/", headers={"Authorization": "Bearer s3cret-token-value"}).status_code == 200


def test_a_class_file_is_graded_as_a_table_and_downloaded_as_csv(client):
    rows = "question,answer,reference\nWhat is dropout?,It switches off random neurons in training.,Dropout drops neurons during training.\nWhat is dropout?,,Dropout drops neurons during training.\n"
    r = client.post("/teacher/grade", data={"csrf": csrf(client)}, files={"file": ("class.csv", rows, "text/csv")})
    assert r.status_code == 200 and "2 answers from class.csv" in r.text
    link = re.search(r'href="(/teacher/grade/[^"]+\.csv)"', r.text).group(1)
    csv_text = client.get(link).text
    lines = csv_text.strip().splitlines()
    assert lines[0] == ("id,question,answer,reference,score,verdict,covered,missed,contradicted,feedback,"
                        "needs_review") and len(lines) == 3
    assert lines[2].split(",")[4] == "0.00" and "incorrect" in lines[2]  # the blank answer
    assert lines[2].endswith(",false")  # a blank answer is sure: nothing for the teacher to read


@pytest.mark.parametrize("name, body, message", [
    ("class.csv", "name,text\nx,y\n", "must name at least 'question' and 'answer'"),
    ("class.jsonl", "{not json\n", "not valid JSON"),
    ("class.jsonl", "\xff\xfe\x00", "UTF-8"),
])
def test_a_bad_class_file_is_one_readable_line_not_a_500(client, name, body, message):
    r = client.post("/teacher/grade", data={"csrf": csrf(client)},
                    files={"file": (name, body.encode("latin-1"), "text/plain")})
    shown = html.unescape(r.text)
    assert r.status_code == 400 and message in shown and name in shown
    assert "/tmp/" not in r.text and "Traceback" not in r.text


def test_an_upload_over_the_limit_is_refused():
    get_settings.cache_clear()
    with TestClient(create_app(max_upload=1000)) as c:
        c.get("/")
        r = c.post("/teacher/grade", data={"csrf": c.cookies.get(CSRF_COOKIE)},
                   files={"file": ("class.csv", "question,answer\n" + "q,a\n" * 2000, "text/csv")})
        assert r.status_code == 413 and "limit" in r.text


def test_no_key_reaches_a_page(client, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-web-secret-1234567890")
    for url in ("/", "/progress", "/ask?q=what+is+dropout", "/study?topic=dropout&demo=0"):
        assert "sk-web-secret" not in client.get(url).text


def test_status_says_what_the_agents_are_doing_for_the_waiting_page(client):
    from tutor.crew.progress import CrewStatus

    assert client.get("/status").json() == {"working": False, "line": ""}
    web = client.app.state.web
    web._crew_status(CrewStatus(agent="Deep Learning Explainer", step="explain_topic"))
    got = client.get("/status").json()
    assert got["working"] and got["line"].startswith("Deep Learning Explainer · explain_topic")
    web._crew_status(None)
    page = client.get("/study").text
    assert 'class="inline long"' in page and '<script src="/static/app.js"' in page
    assert client.get("/static/app.js").status_code == 200


def test_serve_on_a_non_local_host_generates_a_token_prints_it_once_and_requires_it(tmp_path):
    """`tutor serve --host 0.0.0.0` as a real process: the printed address carries a token; without it, 401."""
    import os
    import subprocess
    import sys
    import urllib.error
    import urllib.request

    env = dict(os.environ, TUTOR_HOME=str(tmp_path / "home"), TUTOR_EMBEDDER="hashing",
               CREWAI_DISABLE_TELEMETRY="true", OTEL_SDK_DISABLED="true", LITELLM_LOCAL_MODEL_COST_MAP="True")
    proc = subprocess.Popen([sys.executable, "-m", "tutor", "serve", "--host", "0.0.0.0", "--port", "0"], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=tmp_path)
    try:
        lines = []
        while not any("serving at" in line for line in lines):
            line = proc.stdout.readline()
            assert line, "".join(lines)
            lines.append(line)
        url = re.search(r"serving at (\S+)", "".join(lines)).group(1)
        port, token = re.search(r":(\d+)/\?token=(\S+)", url).groups()
        local = f"http://127.0.0.1:{port}/"
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(local, timeout=30)
        assert refused.value.code == 401
        with urllib.request.urlopen(f"{local}?token={token}", timeout=30) as ok:
            assert ok.status == 200 and b"What next?" in ok.read()
    finally:
        proc.terminate()
        out = proc.communicate(timeout=30)[0]
    assert "".join(lines + [out]).count(token) == 1  # printed once


def test_serve_refuses_bad_options_with_one_line(tutor):
    ran = tutor("serve", "--port", "70000")
    assert ran.exit_code == 2 and "--port must be between 0 and 65535" in ran.stderr
    ran = tutor("serve", "--token", "short")
    assert ran.exit_code == 2 and "at least 8 characters" in ran.stderr


def test_serve_on_a_port_in_use_is_one_line_and_exit_1(tutor):
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        ran = tutor("serve", "--port", str(port))
    assert ran.exit_code == 1 and f"cannot listen on 127.0.0.1:{port}" in ran.stderr and "Traceback" not in ran.output
