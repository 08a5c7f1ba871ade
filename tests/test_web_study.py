"""`tutor serve` as a study app (issue 25), at the HTTP level (Starlette's TestClient on the real app, a real
SQLite record under the test's TUTOR_HOME): the lesson page shows every part once and is run and recorded once
per visit; check questions are answered in place; citations land on the cited heading or bullet; the quiz ends
with a recap and a retry; review offers "Show answer" and Again / Hard / Good / Easy; progress, the teacher's
page and errors read as a learner (or a teacher) needs."""

from __future__ import annotations

import csv
import html
import io
import json
import re
import sqlite3
from urllib.parse import unquote

import pytest
from markupsafe import escape

from tests.test_web import client, csrf, text_of  # noqa: F401  (client: a fixture)
from tutor.learning.store import LearnerStore

FETCH = {"X-Requested-With": "fetch"}




def lesson(client, topic: str, demo: bool = False) -> tuple[str, str, dict]:
    """The lesson page (after its redirect), its URL and the lesson kept for the visit."""
    r = client.get(f"/study?topic={topic}" + ("" if demo else "&demo=0"))
    assert r.status_code == 200, r.text[:500]
    lid = re.search(r"lesson=([\w-]+)", str(r.url)).group(1)
    return r.text, str(r.url), client.app.state.web.sessions["lesson:" + lid]


def progress() -> object:
    with LearnerStore.open(None) as store:
        return store.progress()


def headings(page: str) -> list[str]:
    return [" ".join(text_of(h).split()) for h in re.findall(r"<h[1-6][^>]*>(.*?)</h[1-6]>", page, re.S)]


# ---- the lesson page ----------------------------------------------------------------------------------
def test_a_lesson_shows_every_part_once_and_is_run_and_recorded_once_per_visit(client, tutor_home):
    page, url, kept = lesson(client, "dropout")
    shown = headings(page)
    assert len(shown) == len(set(shown)), shown  # no heading twice
    assert shown.count("Check your understanding") == 1 and "Sources" in shown
    assert len(re.findall(r'<form action="/check"', page)) == len(kept["checks"]) == 3
    for check in kept["checks"]:
        assert page.count(str(escape(check["question"]))) == 1, check["question"]  # once: as its form's label
    assert str(tutor_home) not in page and "/tmp/" not in page
    sources = re.findall(r'<section class="sources".*?</section>', page, re.S)[0]
    links = re.findall(r'href="([^"]+)"', sources)
    assert len(links) == len(set(links))  # each source once
    assert not [t for t in re.findall(r"<a [^>]*>([^<]*)</a>", sources) if ".md" in t]  # named by section
    # "Back" and reloads land on the kept lesson: nothing runs or is recorded again.
    for _ in range(3):
        again = client.get(url)
        assert again.status_code == 200 and again.url == url
    assert progress().lessons == 1
    client.get("/study?topic=dropout&demo=0")  # a new visit is a new lesson
    assert progress().lessons == 2


@pytest.mark.slow
def test_the_lesson_demo_has_its_figure_served_and_its_numbers_as_tables(client, tutor_home):
    page, _url, kept = lesson(client, "dropout", demo=True)
    assert kept["lesson"].demo is not None
    figure = re.search(r'<img src="(/figures/[^"]+)"', page).group(1)
    image = client.get(figure)
    assert image.status_code == 200 and image.headers["content-type"] == "image/png"
    assert "Figure:" not in text_of(page) and str(tutor_home) not in page
    table = page.split('<table class="metrics">', 1)[1].split("</section>", 1)[0]
    nested = re.search(r'<table class="nested">(.*?)</table>', table, re.S).group(1)
    assert "<th scope=\"col\">val loss</th>" in nested and "method=" not in table
    assert len(re.findall(r"<tr>", nested)) >= 3  # one row per method, below the header


def test_a_check_question_is_answered_in_place_and_recorded_under_its_section(client):
    page, url, kept = lesson(client, "dropout")
    check = kept["checks"][0]
    lid = kept_id = url.split("lesson=")[1].split("&")[0]
    r = client.post("/check", data={"csrf": csrf(client), "lesson": lid, "index": "0", "answer": check["reference"]},
                    headers=FETCH)
    assert r.status_code == 200 and "<html" not in r.text and 'class="grade' in r.text  # only the result
    assert progress().lessons == 1  # the lesson was not run again
    recorded = LearnerStore.open(None).answers()
    if recorded:  # an unsure grade waits for the learner's rating instead
        assert recorded[-1].section == check["section"] and recorded[-1].source == check["source"]
        assert recorded[-1].section  # never a nameless bucket
    # Without JavaScript: the result is kept with the lesson and the browser goes back to that question.
    plain = client.post("/check", data={"csrf": csrf(client), "lesson": kept_id, "index": "1",
                                        "answer": kept["checks"][1]["reference"]}, follow_redirects=False)
    assert plain.status_code == 303 and plain.headers["location"].endswith("#check-2")
    back = client.get(plain.headers["location"]).text
    result = back.split('id="check-2"', 1)[1].split('id="check-3"', 1)[0]
    assert 'class="grade' in result and progress().lessons == 1


def test_a_blank_check_answer_stays_on_the_question_with_a_note(client):
    _page, url, _kept = lesson(client, "dropout")
    lid = url.split("lesson=")[1].split("&")[0]
    r = client.post("/check", data={"csrf": csrf(client), "lesson": lid, "index": "2", "answer": "  "}, headers=FETCH)
    assert r.status_code == 200 and "Write your answer first" in r.text and "standard input" not in r.text
    plain = client.post("/check", data={"csrf": csrf(client), "lesson": lid, "index": "2", "answer": ""})
    assert "Write your answer first" in plain.text and 'id="check-3"' in plain.text  # still the lesson
    assert LearnerStore.open(None).answers() == []


# ---- citations ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("topic", ["dropout", "attention", "word2vec"])
def test_every_citation_of_a_lesson_lands_on_its_heading_or_bullet_highlighted(client, topic):
    page, _url, _kept = lesson(client, topic)
    links = sorted({html.unescape(m) for m in re.findall(r'href="(/notes/[^"]+)"', page)})
    assert links
    subsections = 0
    for link in links:
        fragment = unquote(link.split("#", 1)[1])
        subsections += "--" in fragment
        notes = client.get(link).text
        target = re.search(r'<(\w+) id="%s"([^>]*)>' % re.escape(fragment), notes)
        assert target, (link, "no element with that id")
        assert "highlight" in target.group(2), (link, "not highlighted")
        assert notes.count("class=highlight") == 1, link  # that one only
    if topic in ("attention", "word2vec"):  # taught from ### subsections: their citations name them
        assert subsections, links


def test_a_bullet_citation_lands_on_the_bullet():
    from tutor.web.render import note_link, notes_html

    text = "# M\n\n## 5. Regularization\n\n- **Dropout**: drops neurons.\n- **L2**: penalty.\n\n### AlexNet\n\n- **ReLU**: x\n"
    link = note_link("n.md", "5. Regularization > Dropout")
    assert link.endswith("#5-regularization--dropout")
    shown, marked = notes_html(text, "n.md", "5. Regularization > Dropout")
    assert marked and '<li id="5-regularization--dropout" class=highlight>' in shown
    shown, marked = notes_html(text, "n.md", "5. Regularization > AlexNet")
    assert marked and '<section id="5-regularization--alexnet" class=highlight>' in shown
    shown, marked = notes_html(text, "n.md", "5. Regularization > Nothing Like It")
    assert marked and '<section id="5-regularization" class=highlight>' in shown  # falls back to the section
    assert notes_html("<script>x</script>\n## A\n- **<b>B</b>**: c", "n.md", "A > B")[0].count("<script>") == 0


# ---- the quiz ---------------------------------------------------------------------------------------------
def test_the_quiz_ends_with_a_recap_and_a_retry_of_the_ones_missed(client, tutor):
    items = json.loads(tutor("quiz", "--json", "--n", "3", "--kind", "mcq", "--seed", "21").stdout)["items"]
    url = client.post("/quiz", data={"csrf": csrf(client), "n": "3", "kind": "mcq", "seed": "21"},
                      follow_redirects=False).headers["location"]
    wrong = next(o for o in items[0]["options"] if o != items[0]["answer"])
    letter = "ABCDE"[items[0]["options"].index(wrong)]
    after = client.post(url, data={"csrf": csrf(client), "at": "0", "option": letter}).text
    assert f"your answer: {letter}. {html.escape(wrong)}" in after  # the option's text, not only its letter
    right = "ABCDE"[items[1]["options"].index(items[1]["answer"])]
    client.post(url, data={"csrf": csrf(client), "at": "1", "option": right})
    client.post(url, data={"csrf": csrf(client), "at": "2", "skip": "1"})
    done = client.get(url).text
    rows = re.findall(r'<li class="recap-row card (\w+)">(.*?)</li>', done, re.S)
    assert [v for v, _ in rows] == ["incorrect", "correct", "skipped"]
    first = html.unescape(text_of(rows[0][1]))
    right_first = "ABCDE"[items[0]["options"].index(items[0]["answer"])]
    assert f"Your answer: {letter}. {wrong}" in first and f"{right_first}. {items[0]['answer']}" in first
    assert "Incorrect" in first and 'href="/notes/' in rows[0][1]
    assert "Score: 1.0 / 3" in done and "Retry the 2 you missed" in done
    retry = client.post(f"{url}/retry", data={"csrf": csrf(client)}, follow_redirects=False)
    assert retry.status_code == 303
    again = client.get(retry.headers["location"]).text
    assert "Question 1/2" in again and html.escape(items[0]["question"]) in again
    assert progress().quizzes == 2


def test_a_blank_quiz_answer_stays_on_the_question_with_a_note(client):
    url = client.post("/quiz", data={"csrf": csrf(client), "n": "2", "kind": "short", "seed": "4"},
                      follow_redirects=False).headers["location"]
    page = client.post(url, data={"csrf": csrf(client), "at": "0", "answer": "   "}).text
    assert "Question 1/2" in page and "Write your answer first" in page and "standard input" not in page
    assert progress().attempts == 0


# ---- review -----------------------------------------------------------------------------------------------
def due_card(client, tutor_home) -> str:
    with LearnerStore.open(None) as store:
        store.record_answer(None, question="What does dropout do?", answer="x", reference="It drops neurons in training.",
                            grade_score=0.9, verdict="correct", source="02-training-neural-networks.md",
                            section="5. Regularization Techniques to Prevent Overfitting")
    with sqlite3.connect(tutor_home / "learner.db") as con:
        con.execute("UPDATE cards SET due = '2000-01-01T00:00:00.000000+00:00'")
    page = client.get("/review").text
    assert "Show answer" in page
    return re.search(r'name="card" value="(\d+)"', page).group(1)


def test_review_shows_the_answer_then_four_ratings_with_their_next_dates(client, tutor_home):
    card = due_card(client, tutor_home)
    shown = client.get(f"/review?show={card}").text
    assert "It drops neurons in training." in shown
    buttons = re.findall(r'name="self" value="(\w+)"[^>]*title="next review on ([^"]+)">(\w+)<small>([^<]+)</small>', shown)
    assert [b[0] for b in buttons] == ["again", "hard", "good", "easy"]
    assert [b[2] for b in buttons] == ["Again", "Hard", "Good", "Easy"]
    assert all(re.fullmatch(r"\d+ (min|h|days?|months?)|[\d.]+ years", b[3]) for b in buttons), buttons
    seen = re.search(r'name="seen" value="([^"]+)"', shown).group(1)
    done = client.post("/review", data={"csrf": csrf(client), "card": card, "seen": seen, "self": "good"}).text
    assert "You rated yourself <strong>Good</strong>" in done and "next review:" in done and "Nothing is due" in done
    with LearnerStore.open(None) as store:
        last = store.answers()[-1]
        assert last.self_rated and last.score == pytest.approx(0.8) and last.verdict == "correct"
        assert store.card(int(card)).due.strftime("%d %b %Y") == buttons[2][1]  # the date the button said
    client.post("/review", data={"csrf": csrf(client), "card": card, "seen": seen, "self": "good"})  # sent twice
    assert len(LearnerStore.open(None).answers()) == 2  # recorded once
    nothing = client.get("/review").text
    assert "The next card is due on" in nothing  # "nothing is due" says when something is


def test_a_blank_review_answer_keeps_the_card_with_a_note(client, tutor_home):
    card = due_card(client, tutor_home)
    page = client.post("/review", data={"csrf": csrf(client), "card": card, "answer": ""}).text
    assert "Write your answer first" in page and f'name="card" value="{card}"' in page
    assert len(LearnerStore.open(None).answers()) == 1


# ---- progress, home, the teacher's page, errors ---------------------------------------------------------
def test_progress_reads_at_a_glance(client, tutor_home):
    _page, url, kept = lesson(client, "dropout")
    lid = url.split("lesson=")[1].split("&")[0]
    client.post("/check", data={"csrf": csrf(client), "lesson": lid, "index": "0", "answer": "no idea at all"},
                headers=FETCH)
    with LearnerStore.open(None) as store:
        store.record_answer(None, question="Q?", answer="a", reference="r", grade_score=0.42, verdict="partially_correct",
                            source="07-transformers.md", section="3. Transformer Architecture")
    page = client.get("/progress").text
    shown = html.unescape(text_of(page))
    assert "Transformer Architecture" in shown and "42%" in shown  # full names, values beside the bars
    assert "(no module)" not in shown and "Other answers" not in shown
    assert 'class="chart history"' in page and ">100%</text>" in page and ">0%</text>" in page  # axes
    assert re.search(r"<text [^>]*>\d{1,2} \w{3}</text>", page)  # dates under the history
    assert 'class="chart due"' in page and "day studied" in shown and "in a row" in shown
    home = client.get("/").text
    assert "quiz yourself on" in home and 'href="/quiz?topic="' not in home


def test_the_teachers_page_has_a_class_summary_colours_and_a_full_csv(client):
    rows = ("id,question,answer,reference\n"
            "a,What is dropout?,It switches off random neurons in training.,Dropout drops neurons during training.\n"
            "b,What is dropout?,,Dropout drops neurons during training.\n"
            "c,What is L2?,,A penalty on large weights.\n")
    page = client.post("/teacher/grade", data={"csrf": csrf(client)}, files={"file": ("class.csv", rows, "text/csv")}).text
    summary = page.split('class="summary card"', 1)[1].split("</section>", 1)[0]
    assert 'class="badge incorrect">Incorrect: 2<' in summary and "Mean score" in summary
    per_question = re.findall(r'<span class="question-text">([^<]+)</span>', summary)
    assert per_question[0] == "What is dropout?" or per_question[0] == "What is L2?"
    assert 'class="badge incorrect">Incorrect</span>' in page  # the verdict's colour comes with its word
    link = re.search(r'href="(/teacher/grade/[^"]+\.csv)"', page).group(1)
    table = list(csv.DictReader(io.StringIO(client.get(link).text)))
    assert [r["id"] for r in table] == ["a", "b", "c"]
    assert table[1]["reference"] == "Dropout drops neurons during training." and table[1]["score"] == "0.00"
    assert all(re.fullmatch(r"\d\.\d\d", r["score"]) for r in table)
    assert {"covered", "missed", "contradicted"} <= set(table[0]) and table[1]["missed"]


def test_errors_are_in_a_learners_words_on_a_page_with_the_navigation(client):
    r = client.post("/quiz", data={"csrf": csrf(client), "n": "99"})
    assert r.status_code == 400 and "--n" not in r.text and "between 1 and 50" in r.text
    assert '<nav aria-label="main">' in r.text and 'href="/quiz"' in r.text
    missing = client.get("/no/such/page")
    assert missing.status_code == 404 and "<nav" in missing.text and 'href="/study"' in missing.text
    forged = client.post("/quiz", data={"n": "1"})
    assert forged.status_code == 403 and "<nav" in forged.text
    topic = client.get("/study?topic=%20%20").text
    assert "Study a topic" in topic
    from tutor.web.grades import learner_words

    assert learner_words("the answer is empty: write what you think, or '-' to read it from standard input") == \
        "The answer is empty: write what you think"
    assert "--" not in learner_words("cloze questions ask for recall: use --level remember, or --kind short/mcq for")


# ---- review: a typed answer, graded, then rated as in Anki ---------------------------------------------------
def rating_buttons(page: str) -> list[tuple[str, str, str, str, bool]]:
    """The four rating buttons after an answer: (value, date, label, when, suggested)."""
    form = re.search(r'<form action="/review" method="post" class="ratings rate">(.*?)</form>', page, re.S).group(1)
    found = re.findall(r'name="rating" value="(\w+)" class="\w+( suggested)?"[^>]*title="next review on ([^"]+)">'
                       r'(\w+)<small>([^<]+)</small>', form)
    return [(v, date, label, when, bool(s)) for v, s, date, label, when in found]


@pytest.mark.parametrize("choice", ["good", "hard"])
def test_a_typed_review_answer_shows_its_grade_then_four_ratings_recorded_as_self_rated(client, tutor_home,
                                                                                        monkeypatch, choice):
    from tutor.grading.model import Grade
    from tutor.learning import flows

    graded = Grade(score=0.75, verdict="correct", feedback="You stated that dropout drops neurons.",
                   covered=["drops neurons"])
    monkeypatch.setattr(flows, "grade_review_answer", lambda *a, **k: graded)
    card = due_card(client, tutor_home)
    page = client.post("/review", data={"csrf": csrf(client), "card": card, "answer": "It drops neurons"}).text
    assert "You stated that dropout drops neurons." in page  # the feedback, then the ratings
    assert '<span class="badge">Correct</span>' in page and "It drops neurons in training." in page  # verdict, answer
    buttons = rating_buttons(page)
    assert [(b[0], b[2]) for b in buttons] == [("again", "Again"), ("hard", "Hard"), ("good", "Good"), ("easy", "Easy")]
    assert all(re.fullmatch(r"\d+ (min|h|days?|months?)|[\d.]+ years", b[3]) for b in buttons), buttons
    assert [b[0] for b in buttons if b[4]] == ["good"]  # 0.75 earns Good: that one is suggested
    assert "Your grade suggests <strong>Good</strong>" in page and " autofocus" in page
    assert len(LearnerStore.open(None).answers()) == 1  # nothing recorded before the rating

    pending = re.search(r'name="pending" value="([^"]+)"', page).group(1)
    done = client.post("/review", data={"csrf": csrf(client), "pending": pending, "rating": choice}).text
    assert "next review:" in done and "(your own rating)" in done and "Nothing is due" in done
    with LearnerStore.open(None) as store:
        last = store.answers()[-1]
        assert last.self_rated and last.answer == "It drops neurons"
        if choice == "good":  # as suggested: the grader's score stands (it earns Good)
            assert last.score == pytest.approx(0.75) and last.verdict == "correct"
        else:  # the learner's own band
            assert last.score == pytest.approx(0.55) and last.verdict == "partially_correct"
        date = dict((b[0], b[1]) for b in buttons)[choice]
        assert store.card(int(card)).due.strftime("%d %b %Y") == date  # the date the button said
    twice = client.post("/review", data={"csrf": csrf(client), "pending": pending, "rating": choice})
    assert twice.status_code == 404 and len(LearnerStore.open(None).answers()) == 2  # recorded once


def test_an_unsure_review_answer_offers_the_four_ratings_none_suggested(client, tutor_home, monkeypatch):
    from tutor.grading.model import Grade
    from tutor.learning import flows

    unsure = Grade(score=0.3, verdict="unsure", key_point="It drops neurons in training.",
                   stated_words=["drops"], missing_words=["neurons"], feedback="Not sure.")
    monkeypatch.setattr(flows, "grade_review_answer", lambda *a, **k: unsure)
    card = due_card(client, tutor_home)
    page = client.post("/review", data={"csrf": csrf(client), "card": card, "answer": "it drops things"}).text
    assert "Not sure" in page and '<mark class="found">drops</mark>' in page and '<span class="missing">neurons</span>' in page
    buttons = rating_buttons(page)
    assert [b[0] for b in buttons] == ["again", "hard", "good", "easy"] and not any(b[4] for b in buttons)
    pending = re.search(r'name="pending" value="([^"]+)"', page).group(1)
    client.post("/review", data={"csrf": csrf(client), "pending": pending, "rating": "easy"})
    with LearnerStore.open(None) as store:
        last = store.answers()[-1]
        assert last.self_rated and last.score == pytest.approx(1.0) and last.verdict == "correct"
        assert store.card(int(card)).due.strftime("%d %b %Y") == buttons[3][1]
