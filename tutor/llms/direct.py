"""The built-in offline model's skills that read nothing but their own search, callable without a crew.

Offline, the explainer's answer to a learner's question and the grader's grade read only the passages of
their own `search_notes` call (the researcher's report is context they do not need). So while the YAML
keeps that shape (the task's skill is `answer` or `grade`, its agent may search, every agent of the run is
offline, the process sequential and quiet: `tutor.crew.run.skips_the_crew`) the same search and the same
composer give the very output the crew gives, without importing CrewAI: a cold `tutor ask` or `tutor grade`
then costs what the index and the grader cost. `tutor.llms.offline` calls the same functions from inside
the crew, so the two cannot drift apart (tests/test_teaching.py and tests/test_grading_cases.py compare them).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from tutor.crew.outputs import Answer
from tutor.llms.protocol import Retrieved, parse_passages

ANSWER_PASSAGES = 8  # how many passages the offline explainer reads for a learner's question
GRADE_PASSAGES = 5  # how many the offline grader reads for the key points and the concepts nearby
NOTHING_TO_GRADE = ('{"score": 0.0, "verdict": "incorrect", "feedback": "The notes say nothing I could grade '
                    'this answer against; give a reference answer with --reference.", "confidence": 0.0}')


def search_as_the_agent(query: str, k: int) -> list[Retrieved]:
    """What an agent's `search_notes` call returns, read back from the observation text as the agent reads it."""
    from tutor.tools.notes import format_passages, shared_retriever

    return parse_passages(format_passages(shared_retriever().search_with_companion(query, k=k)))


def answer(question: str, passages: list[Retrieved], said: tuple[str, ...] = (), about: str = "",
           previous: str = "") -> Answer:
    """The offline answer to a learner's question from the passages its search found; `said`: the lines the
    previous answer of a conversation showed, not shown again; `previous`: the question that answer answered."""
    from tutor.knowledge.companion import course_companion
    from tutor.llms.answer import compose_answer
    from tutor.tools.notes import shared_retriever

    store = shared_retriever().store
    kept = kept_vectors(store.embedder)

    def embed(texts: list[str]) -> Any:  # the question as its search embedded it (kept by the store)
        if not texts or texts[0] != question:
            return kept(texts)
        import numpy as np

        rest = kept(texts[1:]) if len(texts) > 1 else np.zeros((0, 0), dtype=np.float32)
        first = np.asarray(store.embed_query(question), dtype=np.float32)[None, :]
        return np.concatenate([first, rest]) if len(rest) else first

    return compose_answer(question, passages, embed=embed, companion=course_companion(), said=said, about=about,
                          previous=previous)


# id(embedder) -> the embedder (held, so that its id stays its own) and its vectors by text
_KEPT: dict[int, tuple[Any, dict[str, Any]]] = {}
_KEPT_LOCK = threading.Lock()
KEPT_MAX = 20_000  # sentences of the notes and companion: about 30 MB of vectors at most


def kept_vectors(embed: Callable[[list[str]], Any]) -> Callable[[list[str]], Any]:
    """`embed`, with each text's vector kept for the process, per embedder: the candidate sentences an answer is
    chosen from are the notes' and the companion's own, the same for every question, so a new question embeds
    itself and little else (a class asking at once shares them). The shipped course's sentences are not
    embedded at all: their vectors come with the package (`tutor.llms.sentences`)."""
    import numpy as np

    from tutor.llms.sentences import shipped_sentences

    table = shipped_sentences()
    if table is not None and not table.serves(embed):
        table = None

    def run(texts: list[str]) -> Any:
        with _KEPT_LOCK:
            kept = _KEPT.setdefault(id(embed), (embed, {}))[1]
            known = {t: kept[t] for t in texts if t in kept}
        new = [t for t in dict.fromkeys(texts) if t not in known]
        if table is not None:  # the shipped course's sentences come with their vectors
            for t in new:
                v = table.vector(t)
                if v is not None:
                    known[t] = v
            new = [t for t in new if t not in known]
        if new:
            fresh = dict(zip(new, np.asarray(embed(new), dtype=np.float32)))
            known.update(fresh)
            with _KEPT_LOCK:
                if sum(len(v) for _, v in _KEPT.values()) + len(fresh) > KEPT_MAX:
                    _KEPT.clear()
                _KEPT.setdefault(id(embed), (embed, {}))[1].update(fresh)
        return np.stack([known[t] for t in texts]) if texts else np.zeros((0, 0), dtype=np.float32)

    return run


def grade(question: str, reference: str, answer_text: str, passages: list[Retrieved]) -> tuple[str, str]:
    """The offline grade as JSON, and how it was graded: against the reference, or against the key points
    of the notes that answer the question. The notes are read either way: for the key points when there is
    no reference, and for the concepts next to the one asked ("that describes L1/L2 regularization")."""
    from tutor.grading.service import against_notes, against_reference, notes_only, shared_grader

    reference = reference.strip()
    if reference:
        target = against_reference(question, reference, notes_only(passages))
    else:
        target = against_notes(question or answer_text, notes_only(passages))
    if not target["reference"]:
        return NOTHING_TO_GRADE, "nothing"
    graded = shared_grader().grade(answer_text, question=question, **target)
    return graded.model_dump_json(), target["graded_against"]
