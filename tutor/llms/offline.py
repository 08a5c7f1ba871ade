"""The built-in offline model: a CrewAI `BaseLLM` that invents nothing.

It speaks CrewAI's ReAct protocol for real: it reads the tools an agent is offered, calls
`search_notes` (and a demo tool where a lesson asks for one) with `Action` / `Action Input`, delegates
to the coworker whose role fits when it is a hierarchical manager, and writes its `Final Answer` only
from passages it retrieved, quoted and cited. It finds the task it serves (`from_task`) and answers
with the skill the task's YAML names (`skill:`, or the one its `output` implies), so a task a teacher
adds can ask for a lesson, a quiz or an answer too; any other task gets a grounded extractive answer.
"""

from __future__ import annotations

import json
import re
from typing import Any

from pydantic import BaseModel, Field

from crewai.llms.base_llm import BaseLLM
from tutor.knowledge.companion import course_companion
from tutor.llms import compose, direct
from tutor.llms.protocol import Conversation, action, final, read_conversation

DELEGATE = "delegate_work_to_coworker"
ASK = "ask_question_to_coworker"


class TaskInfo(BaseModel):
    name: str
    description: str  # with its placeholders filled
    output: str | None = None
    agent: str = ""
    skill: str = "extract"  # the task's `skill:` in tasks.yaml (tutor.crew.config.SKILLS)
    placeholders: list[str] = Field(default_factory=list)


class RunContext(BaseModel):
    """What the crew builder tells the offline model about the run it serves."""

    inputs: dict[str, Any] = Field(default_factory=dict)
    tasks: dict[str, TaskInfo] = Field(default_factory=dict)
    roles: dict[str, str] = Field(default_factory=dict)  # agent role -> agent key
    goals: dict[str, str] = Field(default_factory=dict)  # agent key -> role + goal, for choosing coworkers
    no_demo: bool = False


class OfflineLLM(BaseLLM):
    llm_type: str = "offline"
    model: str = "offline"
    run: RunContext = Field(default_factory=RunContext)

    # ---- BaseLLM protocol ------------------------------------------------------------------------
    def supports_function_calling(self) -> bool:
        return False  # ReAct text, the protocol every CrewAI agent understands

    def supports_stop_words(self) -> bool:
        return False

    def get_context_window_size(self) -> int:
        return 128_000

    def get_input_tokens_count(self, messages: Any, tools: Any = None, response_model: Any = None) -> int:
        text = messages if isinstance(messages, str) else json.dumps(messages, default=str)
        return (len(text) + 3) // 4

    def call(
        self,
        messages: Any,
        tools: Any = None,
        callbacks: Any = None,
        available_functions: Any = None,
        from_task: Any = None,
        from_agent: Any = None,
        response_model: Any = None,
    ) -> str:
        conv = read_conversation(messages)
        task = self._identify(conv, from_task)
        if DELEGATE in conv.tools:
            return self._manage(conv, task)
        skill = {
            "research": self._research,
            "lesson": self._explain,
            "check": self._check,
            "quiz": self._quiz,
            "grade": self._grade,
            "answer": self._answer,
        }.get(task.skill if task else "", self._extract)
        return skill(conv, task)

    # ---- which task is this? ---------------------------------------------------------------------
    def _identify(self, conv: Conversation, from_task: Any) -> TaskInfo | None:
        name = getattr(from_task, "name", None)
        if name in self.run.tasks:
            return self.run.tasks[name]
        # A delegated task arrives as a new Task whose text quotes the original description.
        norm = " ".join(conv.task_text.split())
        for info in self.run.tasks.values():
            if " ".join(info.description.split()) in norm:
                return info
        return None

    def _query(self, task: TaskInfo | None, conv: Conversation) -> str:
        """What to search for: the values the task's placeholders were filled with, else its text."""
        if task:
            values = [str(self.run.inputs[p]) for p in task.placeholders if str(self.run.inputs.get(p, "")).strip()]
            if values:
                return " ".join(values)
        return conv.task_text or "deep learning"

    def _search_first(self, conv: Conversation, query: str, k: int = 8) -> str | None:
        if "search_notes" in conv.tools and not conv.called("search_notes"):
            return action(f"I should find what the notes say about {query} before answering.", "search_notes",
                          {"query": query, "k": k})
        return None

    # ---- hierarchical manager --------------------------------------------------------------------
    def _manage(self, conv: Conversation, task: TaskInfo | None) -> str:
        result = conv.observation_of(DELEGATE)
        if result is not None:
            return final("My coworker has done the work; I pass it on unchanged.", result)
        coworkers = _coworkers(conv.system)
        chosen = self._choose_coworker(task, conv.task_text, coworkers)
        context = json.dumps({k: v for k, v in self.run.inputs.items()}, ensure_ascii=False, default=str)
        return action(
            f"This is work for the {chosen}; I delegate it once with everything they need.",
            DELEGATE,
            {"task": conv.task_text, "context": f"The learner's inputs: {context}", "coworker": chosen},
        )

    def _choose_coworker(self, task: TaskInfo | None, text: str, coworkers: list[str]) -> str:
        if task and task.agent:
            for role in coworkers:
                if self.run.roles.get(role.strip()) == task.agent:
                    return role
        words = set(compose.content_words(text))

        def fit(role: str) -> float:
            key = self.run.roles.get(role, "")
            about = set(compose.content_words(f"{role} {self.run.goals.get(key, '')}"))
            return len(words & about) / (len(about) or 1)

        return max(coworkers, key=fit) if coworkers else "Course Notes Researcher"

    # ---- built-in tasks --------------------------------------------------------------------------
    def _research(self, conv: Conversation, task: TaskInfo | None) -> str:
        topic = str(self.run.inputs.get("topic") or self._query(task, conv))
        step = self._search_first(conv, topic)
        if step:
            return step
        return final("I have the passages; I report them with their citations.",
                     compose.compose_research(topic, conv.passages()))

    def _explain(self, conv: Conversation, task: TaskInfo | None) -> str:
        topic = str(self.run.inputs.get("topic") or self._query(task, conv))
        step = self._search_first(conv, topic, k=12)
        if step:
            return step
        passages = conv.passages()
        found = _key_ideas(topic)
        demo_tool = self._demo_tool(topic, conv)
        if demo_tool and found.taught and not conv.called(demo_tool):
            return action(f"A demo shows {topic} in numbers; I run it.", demo_tool, {})
        demo = _demo_from_observation(demo_tool, conv.observation_of(demo_tool)) if demo_tool else None
        from tutor.llms.lesson import compose_lesson

        lesson = compose_lesson(topic, passages, demo=demo, read_next=_read_next(topic, found.steps),
                                companion=course_companion(), found=found)
        return final("I compose the lesson from the passages, in the order the notes teach them.",
                     lesson.model_dump_json())

    def _demo_tool(self, topic: str, conv: Conversation) -> str | None:
        if self.run.no_demo:
            return None
        try:
            from tutor.demos import pick_demo_for_topic
        except ImportError:
            return None
        name = pick_demo_for_topic(topic)
        tool = f"demo_{name}" if name else None
        return tool if tool in conv.tools else None

    def _check(self, conv: Conversation, task: TaskInfo | None) -> str:
        from tutor.crew.outputs import CheckQuestion, CheckQuestions

        topic = str(self.run.inputs.get("topic") or self._query(task, conv))
        step = self._search_first(conv, topic)
        if step:
            return step
        from tutor.learning.quiz import rubric_items
        from tutor.llms.lesson import pick_entries

        items = []  # the companion's questions on the topic's ideas, then on its neighbours that name it, then the notes'
        words = compose.content_words(topic)
        companion = course_companion()
        if companion.match(topic) or compose.topic_covered(topic, compose.notes_only(conv.passages())):
            entries = pick_entries(topic, conv.passages(), companion)[:2]
            items = rubric_items(entries)
            if len(items) < 3:
                near = [e for first in entries[:1] for e in companion.for_section(first.notes, first.explains)
                        if all(e is not f for f in entries)]
                items += [i for i in rubric_items(near)
                          if all(compose.mentions(i.question, w) for w in words)][: 3 - len(items)]
        if len(items) < 3:  # the quiz draws on the same rubric questions: none is asked twice
            asked = {i.question for i in items}
            more = _quiz_items(topic, conv, n=8, kind="short", seed=int(self.run.inputs.get("seed", 0) or 0))
            # the questions about the topic itself first, those beyond recall before recall ("what is dropout
            # for?" before "Explain Skip Connections" from a section that only mentions dropout)
            more.sort(key=lambda i: (not all(compose.mentions(f"{i.question} {i.answer}", w) for w in words),
                                     i.level == "remember"))
            items += [i for i in more if i.question not in asked][: 3 - len(items)]
        questions = [CheckQuestion(question=i.question, answer=i.answer, source=i.source, section=i.section,
                                   level=i.level, key_points=i.key_points) for i in items]
        return final("Three questions on the key ideas, each with the points a full answer makes.",
                     CheckQuestions(questions=questions).model_dump_json())

    def _quiz(self, conv: Conversation, task: TaskInfo | None) -> str:
        from tutor.crew.outputs import output_model

        topic = str(self.run.inputs.get("topic") or "").strip()
        if topic and topic.lower() not in ("all", "any", "everything"):
            step = self._search_first(conv, topic, k=6)
            if step:
                return step
        n = int(self.run.inputs.get("n", 5))
        kind = str(self.run.inputs.get("kind", "mixed"))
        seed = int(self.run.inputs.get("seed", 0) or 0)
        level = str(self.run.inputs.get("level", "mixed") or "mixed")
        items = _quiz_items(topic, conv, n=n, kind=kind, seed=seed, level=level)
        quiz = output_model("Quiz")(items=items)
        return final("Each question comes from one passage of the notes.", quiz.model_dump_json())

    def _grade(self, conv: Conversation, task: TaskInfo | None) -> str:
        question = str(self.run.inputs.get("question", ""))
        answer = str(self.run.inputs.get("answer", ""))
        step = self._search_first(conv, question or answer, k=direct.GRADE_PASSAGES)
        if step:
            return step
        graded, against = direct.grade(question, str(self.run.inputs.get("reference", "")), answer, conv.passages())
        how = {"notes": "I read the answer against the key points of the notes that answer the question, point by point.",
               "nothing": "The notes hold nothing to grade this answer against."}.get(
            against, "I read the answer against the reference, point by point.")
        return final(how, graded)

    def _answer(self, conv: Conversation, task: TaskInfo | None) -> str:
        question = str(self.run.inputs.get("question") or self._query(task, conv))
        step = self._search_first(conv, question, k=direct.ANSWER_PASSAGES)
        if step:
            return step
        return final("I answer with the few sentences that answer the question, each cited.",
                     direct.answer(question, conv.passages()).model_dump_json())

    def _extract(self, conv: Conversation, task: TaskInfo | None) -> str:
        query = self._query(task, conv)
        step = self._search_first(conv, query)
        if step:
            return step
        return final("I answer with the note passages that bear on the task, each cited.",
                     compose.compose_extract(query, conv.task_text, conv.passages()))


def _key_ideas(topic: str) -> Any:
    """The sections and points that teach the topic (tutor.llms.keyideas), read from the index the search read."""
    from tutor.llms.keyideas import IndexLibrary, plan
    from tutor.tools.notes import shared_retriever

    return plan(topic, IndexLibrary(shared_retriever()), course_companion())


def _coworkers(system: str) -> list[str]:
    m = re.search(r"following coworkers: (.+)", system)
    return [c.strip() for c in m.group(1).split(",")] if m else []


def _demo_from_observation(tool: str, observation: str | None) -> Any:
    """The demo tool's observation (see tutor.tools.demos.format_result) read back into a DemoRef."""
    from tutor.crew.outputs import DemoRef

    if not observation or "could not run" in observation.splitlines()[0]:
        return None
    title = re.search(r"^Demo '(.+?)' ran on", observation, re.M)
    reading = re.search(r"^Reading: (.+)$", observation, re.M)
    figure = re.search(r"^Figure: (.+)$", observation, re.M)
    metrics: dict[str, Any] = {}
    for m in re.finditer(r"^- ([^:]+): (.+)$", observation, re.M):
        key = m.group(1).strip()
        metrics[key] = f"{metrics[key]}; {m.group(2)}" if key in metrics else m.group(2).strip()
    return DemoRef(
        name=tool.removeprefix("demo_"),
        title=title.group(1) if title else "",
        metrics=metrics,
        summary=reading.group(1).strip() if reading else "",
        figure=figure.group(1).strip() if figure else None,
    )


def _read_next(topic: str, passages: list[Any]) -> list[Any]:
    """Prerequisites first, then what builds on this topic, from the course's prerequisite map."""
    from tutor.crew.outputs import Citation
    from tutor.errors import TutorError
    from tutor.learning.prerequisites import load_prerequisites
    from tutor.learning.store import SectionRef

    try:
        pmap = load_prerequisites()
    except TutorError:
        return []
    here = pmap.concepts_for_topic(topic) or pmap.concepts_for_sections(
        [SectionRef(source=p.source, section=p.section) for p in compose.focus(topic, passages, limit=3)]
    )
    before = [r for cid in here for r in pmap.concepts[cid].requires]
    after = [cid for cid, c in pmap.concepts.items() if any(h in c.requires for h in here)]
    shown = {(p.source, p.section) for p in passages}
    out: list[Any] = []
    for cid in dict.fromkeys(before + after):
        for ref in pmap.concepts[cid].sections[:1]:
            if (ref.source, ref.section) not in shown:
                shown.add((ref.source, ref.section))
                out.append(Citation(source=ref.source, section=ref.section))
    return out[:6]


def _quiz_items(topic: str, conv: Conversation, n: int, kind: str, seed: int, level: str = "mixed") -> list[Any]:
    """Quiz items from the note sections the search found (all the notes when there is no topic), the
    companion's rubric questions on them, and computed items from the demo models (apply level). A mixed
    quiz on a fitting topic has one computed item in four."""
    from tutor.learning.quiz import leveled_quiz
    from tutor.learning.quiz import computed_items, topic_has_computed
    from tutor.llms.lesson import pick_entries
    from tutor.tools.notes import shared_retriever

    topic = "" if topic.lower() in ("all", "any", "everything") else topic
    if kind == "computed":
        return computed_items(n, seed, topic) if level in ("apply", "mixed") else []
    chunks = shared_retriever().lexical.chunks
    notes = compose.notes_only(conv.passages())
    passages = compose.focus(topic, notes, limit=6) if topic else []
    sections = [(p.source, p.section) for p in passages] or None
    companion = course_companion()
    entries = pick_entries(topic, conv.passages(), companion)[:2] if topic and passages else []
    computed = n // 4 if kind == "mixed" and level in ("apply", "mixed") and topic_has_computed(topic) else 0
    items = leveled_quiz(chunks, n=n - computed, kind=kind, seed=seed, topic_sections=sections, level=level,
                         companion=companion, topic_entries=entries)
    if computed:
        extra = computed_items(computed, seed, topic)
        for i, item in enumerate(extra):  # spread them through the quiz
            items.insert(min(len(items), (i + 1) * 4 - 1), item)
    return items
