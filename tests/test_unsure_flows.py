"""When the grader cannot tell ("unsure"), a careful tutor asks: the key point beside the answer, its words marked,
"Does your answer say this?" (in the browser with the four ratings, Again / Hard / Good / Easy and the date each
brings the card back; in `tutor chat`, yes / partly / no), and records the learner's own rating, never the best guess.

Driven through the real pages of `tutor serve` (the quiz step, the review page, a lesson's check question, a
teacher's class) and the real turns of `tutor chat`, with a grader that is always unsure (monkeypatched in
tutor.learning.flows) and a real SQLite record under the test's TUTOR_HOME."""

from __future__ import annotations

import csv
import html
import io
import re
import sqlite3

import pytest
from starlette.testclient import TestClient

from tests.test_web import csrf
from tutor.grading.model import Grade
from tutor.learning import flows
from tutor.learning.quiz import QuizItem
from tutor.learning.store import LearnerStore
from tutor.settings import get_settings
from tutor.web.app import create_app

KEY_POINT = "Randomly drops neurons during training."
QUESTION = "What does dropout do?"
SCORES = {"again": (0.2, "incorrect"), "hard": (0.55, "partially_correct"), "good": (0.8, "correct"), "easy": (1.0, "correct")}


def unsure(*_args, **_kwargs) -> Grade:
    return Grade(score=0.3, verdict="unsure", key_point=KEY_POINT, stated_words=["drops", "training"],
                 missing_words=["neurons"], feedback="I can't tell for sure whether your answer says this.")


ITEMS = [QuizItem(kind="short", question=QUESTION, answer=KEY_POINT, section="5. Regularization",
                  source="02-training-neural-networks.md"),
         QuizItem(kind="short", question="What does weight decay add to the loss?",
                  answer="A penalty on the size of the weights.", section="5. Regularization",
                  source="02-training-neural-networks.md")]


@pytest.fixture
def always_unsure(monkeypatch):
    for name in ("grade_quiz_answer", "grade_review_answer", "grade"):
        monkeypatch.setattr(flows, name, unsure)
    monkeypatch.setattr(flows, "make_quiz", lambda topic, n, *a, **k: ITEMS[:n])


@pytest.fixture
def client(always_unsure):
    get_settings.cache_clear()
    with TestClient(create_app()) as c:
        c.get("/")  # the CSRF cookie
        yield c


def answers() -> list:
    with LearnerStore.open(None) as store:
        return store.answers()


def assert_asks(page: str, answer: str) -> dict[str, str]:
    """The page says "Not sure", shows the answer and the marked key point, asks, and offers the four ratings with
    when each brings the card back, none suggested; no verdict or score is shown as if final. The form's hidden fields."""
    assert "Not sure" in page and "Does your answer say this?" in page
    assert '<mark class="found">drops</mark>' in page and '<mark class="found">training</mark>' in page
    assert '<span class="missing">neurons</span>' in page and "Randomly" in page
    assert html.escape(answer) in page
    assert 'class="grade unsure"' in page and "score 0.30" not in page and "incorrect" not in page
    form = re.search(r'<form[^>]*class="ratings rate".*?</form>', page, re.S).group(0)
    assert 'method="post"' in form and 'name="csrf"' in form  # protected like every other form
    buttons = re.findall(r'name="rating" value="(\w+)" class="\w+" title="next review on (\d\d \w+ \d{4})">(\w+)<small>', form)
    assert [(b[0], b[2]) for b in buttons] == [("again", "Again"), ("hard", "Hard"), ("good", "Good"), ("easy", "Easy")]
    assert "suggested" not in form
    return dict(re.findall(r'type="hidden" name="(\w+)" value="([^"]*)"', form))


# ---- the quiz step ----------------------------------------------------------------------------------
@pytest.mark.parametrize("choice", ["again", "hard", "good", "easy"])
def test_a_quiz_answer_the_grader_is_unsure_of_is_rated_by_the_learner_then_recorded(client, choice):
    url = client.post("/quiz", data={"csrf": csrf(client), "n": "2", "kind": "short", "seed": "1"},
                      follow_redirects=False).headers["location"]
    page = client.post(url, data={"csrf": csrf(client), "at": "0", "answer": "It drops <b>some</b> units in training"}).text
    fields = assert_asks(page, "It drops <b>some</b> units in training")
    assert fields["csrf"] == csrf(client) and fields["at"] == "0"
    assert "<b>some</b>" not in page  # the learner's answer is data
    assert answers() == []  # nothing recorded before the choice
    assert "Question 1/2" in page and 'name="answer"' not in page  # the quiz waits for the rating
    again = client.post(url, data={"csrf": csrf(client), "at": "0", "answer": "another try"}).text
    assert "Does your answer say this?" in again and answers() == []  # a resent answer changes nothing

    after = client.post(url, data={"csrf": csrf(client), "at": "0", "rating": choice}).text
    score, verdict = SCORES[choice]
    recorded = answers()
    assert len(recorded) == 1 and recorded[-1].self_rated is True
    assert recorded[-1].score == pytest.approx(score) and recorded[-1].verdict == verdict
    assert recorded[-1].answer == "It drops <b>some</b> units in training"
    assert "Question 2/2" in after and f"score {score:.2f}" in after and "(your own rating)" in after
    client.post(url, data={"csrf": csrf(client), "at": "0", "rating": choice})  # sent twice: recorded once
    assert len(answers()) == 1


def test_the_rating_form_is_protected_like_every_form(client):
    url = client.post("/quiz", data={"csrf": csrf(client), "n": "1", "kind": "short", "seed": "1"},
                      follow_redirects=False).headers["location"]
    client.post(url, data={"csrf": csrf(client), "at": "0", "answer": "it drops things"})
    assert client.post(url, data={"at": "0", "rating": "good"}).status_code == 403
    other = TestClient(client.app)  # another site: no cookie of ours
    assert other.post(url, data={"csrf": csrf(client), "at": "0", "rating": "good"}).status_code == 403
    bad = client.post(url, data={"csrf": csrf(client), "at": "0", "rating": "maybe"})
    assert bad.status_code == 400 and "Again, Hard, Good or Easy" in bad.text
    assert answers() == []
    done = client.post(url, data={"csrf": csrf(client), "at": "0", "rating": "good"}).text
    assert "Score: 0.8 / 1" in done and answers()[-1].self_rated


# ---- the review page -------------------------------------------------------------------------------
def test_a_review_answer_the_grader_is_unsure_of_is_rated_then_the_card_rescheduled(client, tutor_home):
    with LearnerStore.open(None) as store:
        store.record_answer(None, question=QUESTION, answer="first", reference=KEY_POINT, grade_score=0.9,
                            verdict="correct", source="02-training-neural-networks.md", section="5. Regularization")
    with sqlite3.connect(tutor_home / "learner.db") as con:
        con.execute("UPDATE cards SET due = '2000-01-01T00:00:00.000000+00:00'")
    card = re.search(r'name="card" value="(\d+)"', client.get("/review").text).group(1)
    page = client.post("/review", data={"csrf": csrf(client), "card": card, "answer": "it drops stuff"}).text
    fields = assert_asks(page, "it drops stuff")
    assert len(answers()) == 1 and "next review:" not in page  # only the first answer; not rescheduled

    done = client.post("/review", data={"csrf": csrf(client), "pending": fields["pending"], "rating": "hard"}).text
    last = answers()[-1]
    assert len(answers()) == 2 and last.self_rated and last.score == pytest.approx(0.55)
    assert last.verdict == "partially_correct" and last.answer == "it drops stuff"
    assert "next review:" in done and "(your own rating)" in done and "Nothing is due" in done
    twice = client.post("/review", data={"csrf": csrf(client), "pending": fields["pending"], "rating": "hard"})
    assert twice.status_code == 404 and "already rated" in twice.text and len(answers()) == 2


# ---- a lesson's check question ---------------------------------------------------------------------
def test_a_check_question_answered_in_place_asks_before_recording(client):
    page = client.post("/check", data={"csrf": csrf(client), "question": QUESTION, "reference": KEY_POINT,
                                       "answer": "drops <script>x</script> in training", "back": "/study?topic=dropout"}).text
    fields = assert_asks(page, "drops <script>x</script> in training")
    assert "<script>x" not in page and answers() == []
    done = client.post("/check", data={"csrf": csrf(client), "pending": fields["pending"], "rating": "again"}).text
    last = answers()[-1]
    assert last.self_rated and last.score == pytest.approx(0.2) and last.verdict == "incorrect"
    assert "(your own rating)" in done and 'href="/study?topic=dropout"' in done
    assert "You rated your answer Again against the key point" in html.unescape(done)


# ---- a teacher's class -----------------------------------------------------------------------------
def test_a_class_lists_the_answers_that_need_review_first_and_the_csv_says_which(client, monkeypatch):
    sure = Grade(score=0.9, verdict="correct", feedback="Correct.")

    def grade_batch(rows, options, strict=False):
        for row in rows:
            graded = unsure() if row.id == "2" else sure
            yield flows.BatchResult(id=row.id, grade=graded.model_dump(mode="json"), needs_review=graded.verdict == "unsure")

    monkeypatch.setattr(flows, "grade_batch", grade_batch)
    body = "id,question,answer\n1,What is dropout?,It drops neurons.\n2,What is dropout?,It removes things.\n3,Q3?,A3.\n"
    page = client.post("/teacher/grade", data={"csrf": csrf(client)}, files={"file": ("class.csv", body, "text/csv")}).text
    table = page.split('<table class="grades">', 1)[1].split("<tbody>", 1)[1]
    ids = re.findall(r"<tr[^>]*><td>(\w+)</td>", table)
    assert ids == ["2", "1", "3"]  # the answer that needs review first
    assert '<tr class="needs-review"><td>2</td>' in table and "needs review" in table
    assert "1 needs review" in page
    link = re.search(r'href="(/teacher/grade/[^"]+\.csv)"', page).group(1)
    rows = list(csv.reader(io.StringIO(client.get(link).text)))
    assert rows[0] == ["id", "question", "answer", "reference", "score", "verdict", "covered", "missed", "contradicted",
                       "feedback", "needs_review"]
    assert [(r[0], r[-1]) for r in rows[1:]] == [("1", "false"), ("2", "true"), ("3", "false")]  # the file's order


# ---- tutor chat -------------------------------------------------------------------------------------
@pytest.fixture
def chat(always_unsure):
    from tutor.learning.conversation import ChatSession

    store = LearnerStore.open(None)
    session = ChatSession(options=flows.CrewOptions(), store=store)
    session.pending = session.asked = ITEMS[0]
    yield session
    session.close()
    store.close()


def test_chat_asks_when_unsure_and_records_the_learners_rating(chat):
    asked = chat.handle("it drops some units while training")
    assert "**Not sure.**" in asked.markdown and "Does your answer say this? **yes** / **partly** / **no**" in asked.markdown
    assert "**The key point:** Randomly **drops** *neurons* during **training**." in asked.markdown
    assert answers() == []
    waiting = chat.handle("hmm, not sure")
    assert "yes, partly or no" in waiting.notes[0] and not waiting.markdown and answers() == []
    done = chat.handle("partly")
    last = answers()[-1]
    assert last.self_rated and last.score == pytest.approx(0.55) and last.verdict == "partially_correct"
    assert done.markdown.startswith("**partially correct** (0.55, your own rating)")
    assert chat.rating is None and chat.pending is None


def test_chat_a_new_question_drops_the_unrated_answer_and_is_answered(chat, monkeypatch):
    from tutor.crew.outputs import Answer
    from tutor.learning import conversation

    monkeypatch.setattr(conversation, "ask", lambda q, options, **kw: Answer(question=q, answer="Weight decay adds a penalty."))
    chat.handle("it drops some units")
    turn = chat.handle("what is weight decay?")
    assert "Weight decay adds a penalty." in turn.markdown and "not recorded" in turn.notes[0]
    assert answers() == [] and chat.rating is None
    chat.pending = ITEMS[0]
    chat.handle("it drops some units")
    assert "Weight decay" not in chat.handle("/help").markdown and chat.rating is not None  # /help keeps it waiting
    assert chat.handle("y").markdown.startswith("**correct** (0.80, your own rating)")
    assert answers()[-1].self_rated
