"""The grader as the rest of tutor uses it: one per process, and grading against the notes.

`shared_grader()` keeps one `OfflineGrader` per process (its vectors cached across answers).
`against_notes(question, passages)` turns retrieved passages into what an answer is judged against
when there is no reference: the key points that answer the question (not the whole section), their
citations, the concept asked about, and the sibling concepts nearby.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from tutor.grading.keypoints import points_of_passages, select_key_points
from tutor.grading.listing import members

_GRADER: Any = None


def notes_only(passages: Iterable[Any]) -> list[Any]:
    """Key points come from the notes' own words, never from the companion's explanations."""
    return [p for p in passages if getattr(p, "kind", "notes") == "notes"]


def shared_grader() -> Any:
    """One offline grader per process, on the configured embedder."""
    global _GRADER
    from tutor.grading.grader import OfflineGrader
    from tutor.knowledge.embedder import make_embedder
    from tutor.settings import get_settings

    kind = get_settings().embedder
    if _GRADER is None or _GRADER[0] != kind:
        _GRADER = (kind, OfflineGrader(embedder=make_embedder(kind)))
    return _GRADER[1]


def against_notes(question: str, passages: Iterable[Any], max_siblings: int = 10) -> dict[str, Any]:
    """Keyword arguments for `OfflineGrader.grade` (reference, points, siblings, citations, concept,
    graded_against) from passages of the notes; an empty reference when the passages hold no point."""
    candidates = points_of_passages(notes_only(passages))
    if not candidates:
        return {"reference": "", "points": None, "siblings": None, "citations": [], "concept": "",
                "graded_against": "notes", "members": []}
    chosen = select_key_points(question, candidates, shared_grader().embedder)
    citations = list({(p.source, p.section): p.citation for p in chosen.points}.values())
    siblings = []
    home = {(p.source, p.section) for p in chosen.points[:1]}  # the best point's section (not where a term is used)
    nearest = sorted(chosen.siblings, key=lambda p: (p.source, p.section) not in home)  # the same section first
    for p in nearest:
        if len(siblings) >= max_siblings:
            break
        if sum(s["concept"] == p.name for s in siblings) < 2:  # at most two points per other concept
            siblings.append({"concept": p.name, "text": p.text, "source": p.source, "section": p.section})
    names = members(question, chosen.points[0] if chosen.points else None, candidates)
    return {"reference": chosen.reference, "points": [p.text for p in chosen.points], "siblings": siblings,
            "citations": citations, "concept": chosen.concept, "graded_against": "notes", "members": names}


def against_reference(question: str, reference: str, passages: Iterable[Any], max_siblings: int = 8) -> dict[str, Any]:
    """Keyword arguments for grading against a given reference, with the concepts of the notes nearby as
    siblings (so "that describes L1/L2 regularization" can be said); when the reference is itself a point of
    the notes (a quiz item), its own concept is left out of the siblings and named as the concept asked."""
    from tutor.grading.text import content_stems

    candidates = points_of_passages(notes_only(passages))
    wanted = set(content_stems(reference))
    own = None
    for p in candidates:
        stems = set(content_stems(p.text))
        if wanted and stems and len(wanted & stems) / len(wanted | stems) >= 0.8:
            own = p
            break
    named = set(content_stems(f"{question} {reference}"))  # a concept the reference or question names is not another one

    def other(p: Any) -> bool:
        concept = set(content_stems(p.name))
        return p is not own and (own is None or p.concept != own.concept) and not (concept and concept <= named)

    siblings = [{"concept": p.name, "text": p.text, "source": p.source, "section": p.section}
                for p in candidates if other(p)][:max_siblings]
    # A point of the notes names its concept ("Dropout: randomly drops neurons ..."); a quiz item's answer
    # may not, and the concept's name is what "dropout adds neurons" contradicts.
    text = own.text if own and own.concept.lower() in own.text.lower() and len(own.text) <= 2 * len(reference) + 40 else reference
    return {"reference": text, "siblings": siblings, "concept": own.concept if own else "",
            "citations": [own.citation] if own else [], "graded_against": "reference"}


def check_model_grade(grade: Any, answer: str, question: str, reference: str, passages: Iterable[Any] = ()) -> Any:
    """A configured model's grade, checked by the offline grader. A model can be fooled the way a word-matcher
    is (the reference's words negated, another concept's definition, an instruction in the answer): where it
    gives credit (correct) to an answer the offline grader finds wrong with certainty (a verdict of
    incorrect: a contradiction, another concept described, nothing left once instructions are removed, or
    meaning read as wrong with high confidence), the offline grade stands, and its feedback says so. Where
    the offline grader is unsure or gives credit, the model's grade stands."""
    from tutor.grading.model import CORRECT_AT

    if grade.score < CORRECT_AT:
        return grade
    target = ({"reference": reference, "graded_against": "reference"} if reference.strip()
              else against_notes(question or answer, passages))
    if not target["reference"]:
        return grade
    offline = shared_grader().grade(answer, question=question, **target)
    if offline.verdict != "incorrect":
        return grade
    offline.feedback = ("The configured model gave this answer credit, but it does not say what "
                        f"{'the notes' if target['graded_against'] == 'notes' else 'the reference'} say"
                        f"{'' if target['graded_against'] == 'notes' else 's'}; graded offline instead. "
                        + offline.feedback)
    return offline
