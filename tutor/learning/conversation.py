"""A learner's own questions: `tutor ask` (one question) and `tutor chat` (a session that keeps context).

`ask` runs the YAML task `answer_question` (researcher -> explainer); offline, the built-in model answers
with the few sentences of the notes and the companion that answer it, each cited.

`ChatSession.handle(line)` is one turn of `tutor chat`: a free question is answered as `ask` does; a
follow-up ("and at test time?") is read in the light of the last topic; slash commands quiz, explain,
give an example, explain more simply, grade an answer, show progress, or end the session. Answers to a
chat quiz question are recorded exactly like quiz answers (same store, same review cards).

When the grader is unsure, nothing is recorded yet: the tutor says it is not sure, shows the key point (the
words the answer states in bold, the others in italics) and asks "Does your answer say this? yes / partly /
no". The next line settles it: yes / y, partly / p, no / n record the learner's own rating (self-rated, score
0.8 / 0.55 / 0.2). A new question (a line ending in "?", or opening with a question word) or a command that
moves on (/quiz, /explain, /example, /simpler, /grade, /quit) drops the rating, unrecorded, and says so;
/help and /progress keep it waiting; any other line keeps it waiting and says how to answer.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass, field
from typing import Any

from tutor.crew.outputs import Answer
from tutor.errors import UsageError, WorkFailed
from tutor.learning.self_rating import ask_markdown, is_unsure, rating_of

MAX_QUESTION_CHARS = 2_000
_CITE = re.compile(r"\s*(\[[^\]]*\u00a7[^\]]*\]|\*\(tutor's explanation.*\)\*)\s*$")
_QUESTION = re.compile(r"^\s*(what|why|how|when|where|which|who|whose|whom|can|could|does|do|did|is|are|was|were|"
                       r"should|would|will|explain|tell me|show me|give me)\b", re.I)
KEEPS_RATING = ("help", "progress")  # commands that leave an unsure answer waiting for its rating
HELP = """Ask any question about the course in your own words, or:
  /quiz [topic]     one question on the topic (or the last one); answer on the next line
  /explain [topic]  the full lesson
  /example          a worked example for the current topic
  /simpler          the current topic in plain words
  /grade ANSWER     grade ANSWER against the last question asked
  /progress         your mastery so far
  /help             this list
  /quit             end the session (Ctrl-D works too)"""


def check_question(text: str) -> str:
    text = " ".join(text.split())
    if not text:
        raise UsageError('the question is empty: ask something, e.g. tutor ask "why does dropout help?"')
    if len(text) > MAX_QUESTION_CHARS:
        raise UsageError(f"the question is {len(text):,} characters; the limit is {MAX_QUESTION_CHARS:,}")
    if "\x00" in text:
        raise UsageError("the question contains NUL bytes")
    return text


def ask(question: str, options: Any, said: tuple[str, ...] = (), about: str = "", previous: str = "") -> Answer:
    """The answer to a learner's question, grounded in the notes; a model's prose answer is kept, not dropped.
    A chat's follow-up gives `said` (the lines the previous answer showed, which the offline answer does not
    repeat), `about` (the previous topic) and `previous` (the previous question, as it was read)."""
    from tutor.crew.run import build_and_run
    from tutor.learning.flows import verify_citations

    question = check_question(question)
    direct = _offline_answer(question, options, said, about, previous)
    if direct is not None:
        return verify_citations(direct, "answer")
    # The answer comes from the notes: no demo is offered, so no demo module (nor torch) is imported.
    run = build_and_run("answer_question", {"question": question}, no_demo=True, **options.crew_kwargs())
    result = run.result("answer_question")
    if isinstance(result.output, Answer):
        answer = result.output
    else:
        try:
            answer = Answer.model_validate_json(result.raw)
        except ValueError:
            if not (result.raw or "").strip():
                raise WorkFailed(f"the {result.agent} returned no answer") from None
            answer = Answer(question=question, answer=result.raw.strip())
    answer.question = question
    return verify_citations(answer, "answer")


def answer_without_crew(question: str, options: Any) -> Answer | None:
    """`ask`'s answer where the built-in offline model gives it without starting a crew, or None where the crew
    must run (a configured model, a teacher's YAML that changes who answers, --verbose, --process hierarchical).
    It reads the notes and nothing else that changes: the same question on the same notes gets the same answer,
    and it may run in several threads at once (the crew may not: CrewAI's event bus is process-wide)."""
    from tutor.learning.flows import verify_citations

    question = check_question(question)
    direct = _offline_answer(question, options)
    return verify_citations(direct, "answer") if direct is not None else None


def _offline_answer(question: str, options: Any, said: tuple[str, ...] = (), about: str = "",
                    previous: str = "") -> Answer | None:
    """The built-in offline model's answer without starting a crew (tutor.llms.direct), or None where the
    crew must run: a teacher's YAML that changes who answers, --verbose, --process hierarchical."""
    from tutor.crew.run import skips_the_crew
    from tutor.llms import direct

    if not skips_the_crew("answer_question", "answer", options):
        return None
    answer = direct.answer(question, direct.search_as_the_agent(question, direct.ANSWER_PASSAGES), said, about,
                           previous)
    answer.question = question
    return answer


def render_answer(answer: Answer) -> str:
    parts = [answer.answer.strip()]
    if answer.suggestions:
        parts.append("**Ask next:**\n" + "\n".join(f"- {s}" for s in answer.suggestions))
    return "\n\n".join(parts)


@dataclass
class Turn:
    """What one chat turn shows: Markdown to render, plain notes, and whether the session ends."""

    markdown: str = ""
    notes: list[str] = field(default_factory=list)
    end: bool = False


@dataclass
class ChatSession:
    options: Any
    store: Any
    seed: int = 0
    topic: str = ""  # the last topic asked or answered, for follow-ups and /example, /simpler, /quiz
    pending: Any = None  # a quiz item waiting for its answer
    asked: Any = None  # the last quiz item asked, for /grade
    quiz_id: int | None = None
    turns: int = 0
    rating: Any = None  # an unsure grade waiting for the learner's own rating: (item, answer, grade)
    said: tuple[str, ...] = ()  # the lines of the last answer: a follow-up's answer adds something new
    question: str = ""  # the last question answered, as it was read: "and a gru?" asks it again of a GRU

    def handle(self, line: str) -> Turn:
        self.turns += 1
        text = line.strip()
        if not text:
            return Turn()
        if text.startswith("/"):
            command, _, rest = text[1:].partition(" ")
            handler = COMMANDS.get(command.lower())
            if handler is None:
                return Turn(notes=[f"unknown command /{command}; /help lists them"])
            dropped = self._drop_rating() if command.lower() not in KEEPS_RATING else []
            turn = handler(self, rest.strip())
            turn.notes[:0] = dropped
            return turn
        if self.rating is not None:
            return self._rate(text)
        if self.pending is not None:
            return self._grade(text, self.pending)
        return self._ask(text)

    def close(self) -> None:
        if self.quiz_id is not None:
            self.store.finish_quiz(self.quiz_id)
            self.quiz_id = None

    # ---- turns -------------------------------------------------------------------------------------
    def in_context(self, question: str) -> str:
        """A follow-up names no topic of its own: it is read as being about the last topic
        (tutor.learning.followups)."""
        from tutor.learning.followups import read_follow_up

        return read_follow_up(question, self.topic, self.question)

    def _ask(self, text: str) -> Turn:
        try:
            question = check_question(text)
        except UsageError as e:
            return Turn(notes=[str(e)])
        asked = self.in_context(question)
        follow_up = asked != question
        # the next answer never shows the last one's lines again, follow-up or not
        answer = ask(asked, self.options, said=self.said, about=_subject_of(question, asked, self.topic) if follow_up else "",
                     previous=self.question)
        if answer.covered and answer.citations:
            self.topic = _topic_of(asked, answer, self.topic)
            self.said = answer_lines(answer)
            self.question = asked
        return Turn(markdown=render_answer(answer))

    def _grade(self, text: str, item: Any) -> Turn:
        from tutor.learning import flows

        try:
            answer = flows.check_answer_text(text)
        except UsageError as e:
            return Turn(notes=[f"{e}; the question is still open"])
        graded = flows.grade_quiz_answer(item, answer, self.options)
        self.pending = None
        if is_unsure(graded):  # not recorded until the learner says whether the answer states the key point
            self.rating = (item, answer, graded)
            return Turn(markdown=ask_markdown(graded, item.answer))
        return self._record(item, answer, graded)

    def _record(self, item: Any, answer: str, graded: Any) -> Turn:
        if self.quiz_id is None:
            self.quiz_id = self.store.start_quiz(self.topic or "chat", "chat", self.seed, 0)
        self.store.record_answer(
            self.quiz_id, question=item.question, answer=answer, reference=item.answer, grade_score=graded.score,
            verdict=graded.verdict, source=item.source, section=item.section, self_rated=graded.self_rated,
        )
        verdict = graded.verdict.replace("_", " ")
        own = ", your own rating" if graded.self_rated else ""
        return Turn(markdown=f"**{verdict}** ({graded.score:.2f}{own}) {graded.feedback}")

    def _rate(self, text: str) -> Turn:
        """The line after an unsure grade: a rating records it; a new question drops it; else it waits."""
        choice = rating_of(text)
        if choice is not None:
            item, answer, graded = self.rating
            self.rating = None
            return self._record(item, answer, graded.self_rate(choice))
        if text.rstrip().endswith("?") or (_QUESTION.match(text) and len(text.split()) >= 3):
            dropped = self._drop_rating()
            turn = self._ask(text)
            turn.notes[:0] = dropped
            return turn
        return Turn(notes=["does your answer say the key point? Answer yes, partly or no (y / p / n); "
                           "ask a question or /quiz to move on without recording it"])

    def _drop_rating(self) -> list[str]:
        if self.rating is None:
            return []
        self.rating = None
        return ["your last answer was not recorded: it waited for your yes / partly / no"]


def answer_lines(answer: Answer) -> tuple[str, ...]:
    """An answer's sentences without their bullets, quotes and citations: what a follow-up must not repeat."""
    lines = []
    for line in answer.answer.splitlines():
        text = _CITE.sub("", line.strip().removeprefix("- ")).strip().strip("\u201c\u201d").strip()
        if text:
            lines.append(text)
    return tuple(lines)


def _subject_of(typed: str, asked: str, topic: str) -> str:
    """What a follow-up is about: the idea it names now ("and a gru?" read as "what is a gru?"); for a parallel
    follow-up that names none ("and the decoder?" after the encoder of a transformer), nothing: the question as it is
    read says it all, and the last topic ("transformer architecture") would keep the decoder's own line out; else the
    topic ("what happens without it?")."""
    from tutor.knowledge.companion import course_companion
    from tutor.learning.followups import new_subject

    subject = new_subject(typed)
    named = course_companion().match(subject or asked)
    return named[0].idea if named else "" if subject else topic


def _topic_of(question: str, answer: Answer, previous: str) -> str:
    """The topic a question was about: the companion idea it names, else the first cited section's title."""
    from tutor.knowledge.companion import course_companion
    from tutor.knowledge.chunking import title

    named = course_companion().match(question)
    if named:
        return named[0].idea
    if "(about " in question and previous:
        return previous
    return title(answer.citations[0].section)


def _quiz(session: ChatSession, rest: str) -> Turn:
    from tutor.learning import flows

    topic = rest or session.topic or None
    rng = random.Random(session.seed * 1000 + session.turns)
    items = flows.make_quiz(topic, 1, "mixed", rng.randrange(1, 1_000_000), session.options, level="mixed")
    if not items:
        return Turn(notes=["the notes gave no question for that topic"])
    item = items[0]
    session.pending = session.asked = item
    if topic:
        session.topic = topic
    flows.remember_question(item)
    options = "\n".join(f"  {letter}. {o}" for letter, o in zip("ABCDE", item.options or []))
    shown = f"**Question** *({item.kind}, {item.level}; {item.section})*\n\n{item.question}"
    return Turn(markdown=shown + (f"\n\n{options}" if options else "") + "\n\nType your answer on the next line.")


def _explain(session: ChatSession, rest: str) -> Turn:
    from tutor.learning import flows

    topic = rest or session.topic
    if not topic:
        return Turn(notes=["explain what? Try /explain dropout, or ask a question first"])
    lesson = flows.study(topic, session.options, no_demo=True)
    if lesson.covered:
        session.topic = topic
        session.store.record_lesson(topic, [(c.source, c.section) for c in lesson.citations if c.kind == "notes"])
    return Turn(markdown=lesson.markdown)


def _about(session: ChatSession, rest: str, missing: str, question: str, show: Any) -> Turn:
    """/example and /simpler: the companion's entry for the topic (the one named after the command, else the
    current one), shown; with no entry for it, the question asked as `ask` asks it."""
    from tutor.knowledge.companion import course_companion

    if rest:
        session.topic = rest
    if not session.topic:
        return Turn(notes=[missing])
    found = course_companion().match(session.topic)
    if not found:
        return session._ask(question.format(topic=session.topic))
    return Turn(markdown=show(found[0]))


def _example(session: ChatSession, rest: str) -> Turn:
    return _about(session, rest, "an example of what? Ask a question first, or /example dropout",
                  "Show me an example of {topic}",
                  lambda e: f"**Worked example: {e.idea}** *({e.label})*\n\n{e.example.strip()}")


def _simpler(session: ChatSession, rest: str) -> Turn:
    def show(e: Any) -> str:
        wrong = e.misconceptions[0].wrong.strip()
        return (f"**{e.idea}, in plain words** *({e.label})*\n\n{e.intuition.strip()}\n\n"
                f"*It is not true that* {wrong[0].lower()}{wrong[1:]} {e.misconceptions[0].right.strip()}")

    return _about(session, rest, "simpler than what? Ask a question first, or /simpler attention",
                  "What is {topic}, in plain words?", show)


def _grade_command(session: ChatSession, rest: str) -> Turn:
    item = session.pending or session.asked
    if item is None:
        return Turn(notes=["no question has been asked in this chat yet: /quiz asks one"])
    if not rest:
        return Turn(notes=["/grade needs your answer after it, e.g. /grade it stops training early"])
    return session._grade(rest, item)


def _progress(session: ChatSession, rest: str) -> Turn:
    rows = [m for m in session.store.section_mastery() if m.mastery is not None and m.section]
    if not rows:
        return Turn(markdown="No answers recorded yet: /quiz asks a question.")
    lines = ["| section | mastery | answers |", "|---|---|---|"]
    for m in sorted(rows, key=lambda m: m.mastery)[:12]:
        lines.append(f"| {m.section} | {m.mastery:.2f} | {m.attempts} |")
    return Turn(markdown="Weakest first:\n\n" + "\n".join(lines))


def _help(session: ChatSession, rest: str) -> Turn:
    return Turn(markdown=f"```\n{HELP}\n```")


def _quit(session: ChatSession, rest: str) -> Turn:
    return Turn(end=True)


COMMANDS = {
    "quiz": _quiz, "explain": _explain, "example": _example, "simpler": _simpler, "grade": _grade_command,
    "progress": _progress, "help": _help, "quit": _quit, "exit": _quit, "q": _quit,
}
