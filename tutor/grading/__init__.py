"""The grader: key points, features, the answer-reference pair model, feedback, and the `Grade` model.

    from tutor.grading import OfflineGrader, Grade
    OfflineGrader().grade("Dropout adds neurons.", "Dropout randomly drops neurons during training.")

Modules: `model` (Grade, verdict bands), `text` (words, negation, cleaning), `features`, `pair` (the
cross-encoder), `keypoints` (the note sentences that answer a question), `feedback`, `grader`
(OfflineGrader), `attacks` (hard cases), `train` (makes pair_model.safetensors).
"""

from tutor.grading.model import CORRECT_AT, LABEL_ORDER, LABELS, PARTIAL_AT, Grade, GradingItem, Verdict, verdict_for

__all__ = ["CORRECT_AT", "LABEL_ORDER", "LABELS", "PARTIAL_AT", "Grade", "GradingItem", "OfflineGrader", "Verdict",
           "verdict_for"]


def __getattr__(name: str):  # the grader pulls numpy and the pair model: only when asked for
    if name == "OfflineGrader":
        from tutor.grading.grader import OfflineGrader

        return OfflineGrader
    raise AttributeError(name)
