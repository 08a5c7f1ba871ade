"""The grader: key points, evidence, the answer-reference pair model, one decision, feedback, the `Grade` model.

    from tutor.grading import OfflineGrader, Grade
    OfflineGrader().grade("Dropout adds neurons.", "Dropout randomly drops neurons during training.")

Modules: `model` (Grade, verdict bands, self-rating), `text` (words, negation, cleaning), `features` (an
item made ready), `evidence` (the answer aligned to each key point), `pair` (the cross-encoder: meaning),
`decision` (evidence + meaning -> verdict, score, confidence, or unsure), `keypoints` (the note sentences
that answer a question), `feedback`, `grader` (OfflineGrader), `attacks` (the hard cases the benchmarks
attack with), `train` (makes pair_model.safetensors).
"""

from tutor.grading.model import CORRECT_AT, LABEL_ORDER, LABELS, PARTIAL_AT, Grade, GradingItem, Verdict, verdict_for

__all__ = ["CORRECT_AT", "LABEL_ORDER", "LABELS", "PARTIAL_AT", "Grade", "GradingItem", "OfflineGrader", "Verdict",
           "verdict_for"]


def __getattr__(name: str):  # the grader pulls numpy and the pair model: only when asked for
    if name == "OfflineGrader":
        from tutor.grading.grader import OfflineGrader

        return OfflineGrader
    raise AttributeError(name)
