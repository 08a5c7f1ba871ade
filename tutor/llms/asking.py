"""What a learner's question asks, and what a line of the notes says, read by their words.

Paired: a *why* question (WHY) and a line giving a reason (REASON); *what happens if* (EFFECT_Q) and a
consequence (EFFECT); *what is bad about* (PROBLEM_Q) and a weakness (PROBLEM); *how* (HOW) and the way it is
done (MECHANISM). The rest name a kind of question (an example, a comparison, a list, a definition, plain words,
yes or no) or a kind of line (an example line, a case named, a downside or an upside).
"""

from __future__ import annotations

import re

WHY = re.compile(r"^\s*(why|what for|what is the (point|purpose)|how come)\b", re.I)
EXAMPLE = re.compile(r"\b(example|show me|for instance|concrete|numbers?)\b", re.I)
COMPARE = re.compile(r"\b(differ|difference|vs\.?|versus|compare|compared|better than|instead of)\b", re.I)
REASON = re.compile(r"\b(to (prevent|avoid|reduce|improve|make|allow|help|capture|keep)|because|since|lacks?|due to|so that|"
                    r"so (no|the|it)|otherwise|without|which is why|enabl\w+|lets?|allows?)\b", re.I)
YES_NO = re.compile(r"^\s*(is|are|does|do|did|can|could|should|will|would|isn't|doesn't)\b|\b(true|wrong|mistake|"
                    r"confus\w*|myth|misconception)\b", re.I)
LISTING = re.compile(r"\b(what are|which are|list|name the|kinds of|types of|steps|components|v's)\b", re.I)
EFFECT_Q = re.compile(r"\b(what happens|what would happen|what if|happen\w*|without|too (high|low|big|small|large)|"
                      r"(really|very) (high|low)|goes? wrong|instead)\b", re.I)
EFFECT = re.compile(r"\b(lead\w* to|result\w* in|caus\w+|risk\w*|improv\w+|reduc\w+|increas\w+|lower\w*|more|fewer|"
                    r"cannot|can't|no longer|los(e|es|t)|without|otherwise|would|miss\w*|duplicat\w+|unable)\b", re.I)
PROBLEM_Q = re.compile(r"\b(bad|weak\w*|limit\w*|problem\w*|drawback\w*|hard|challeng\w*|downside\w*|wrong|issue\w*|"
                       r"fall\w* short|shortcoming\w*|catch|cons|struggle\w*|fail\w*)\b", re.I)
PROBLEM = re.compile(r"\b(limitation\w*|struggl\w+|challeng\w+|ignor\w+|cannot|can't|expensive|intensive|requir\w+|"
                     r"misleading|lack\w*|sensitiv\w+|difficult\w*|costly|stale|outdated)\b", re.I)
SIMPLER = re.compile(r"\b(simpler|simply|simple terms|plain (words|english)|eli5|like i'?m five|easier|in short)\b", re.I)
DEFINE = re.compile(r"^\s*(what('?s| is| are| does .{1,40} (mean|stand for|do|decide|control|determine|measure|represent|store|compute)| do .{1,40} do)|define|meaning of)\b", re.I)
EXAMPLE_LINE = re.compile(r"(^|\u2014 )[*_]*examples?[*_]*:", re.I)
HOW = re.compile(r"^\s*(how|what does .{1,40} look like)\b", re.I)
MECHANISM = re.compile(r"\b(uses?|using|by|via|through|comput\w+|calculat\w+|appl(y|ies)|introduc\w+|combin\w+|"
                       r"measur\w+|slid\w+|divid\w+|encod\w+|gates?|=)\b", re.I)
NAMES_A_CASE = re.compile(r"^\W*(model name|task|examples?)\W*:", re.I)
DOWNSIDE = re.compile(r"^\W*(disadvantages?|cons|limitations?|challenges?|drawbacks?|weakness\w*)\W*:", re.I)
UPSIDE = re.compile(r"^\W*(advantages?|pros|benefits?|strengths?)\W*:", re.I)
UPSIDE_Q = re.compile(r"\b(advantages?|pros|benefits?|strengths?|good|better|gain|buy|attractive|why (use|choose|prefer))\b",
                      re.I)
_FACET = re.compile(r"(?:^|\u2014 |: )[*_]*(?P<label>[A-Z][\w ]{2,30}?)[*_]*:\s")


def facet(text: str) -> str:
    """The facet a notes line is labelled with: "Disadvantages" of "Disadvantages: Slower ...", "Limitation" of
    "BoW (Bag of Words) — **Limitation**: Ignores ..."; the last label within the line's first 80 characters, or ""."""
    labels = [m["label"] for m in _FACET.finditer(text[:80])]
    return labels[-1] if labels else ""


RAISE = re.compile(r"\b(rais\w*|increas\w*|higher|high|larger|bigger|grow\w*|bump\w*)\b", re.I)
LOWER = re.compile(r"\b(lower\w*|decreas\w*|reduc\w*|low|smaller|shrink\w*)\b", re.I)
_FROM_TO = re.compile(r"\bfrom\s+(\d+(?:\.\d+)?)\s+to\s+(\d+(?:\.\d+)?)\b", re.I)
NUMBER = re.compile(r"(?<![\w.-])\d+(?:\.\d+)?(?![\w.]*\w)")  # "0.2", "5"; not the "3" of "GPT-3"


def direction(text: str) -> int:
    """+1 where the text says raising ("raising the threshold", "High Threshold"), -1 lowering, 0 neither or both."""
    moved = _FROM_TO.search(text)  # "from 0.5 to 0.8"
    if moved and float(moved[1]) != float(moved[2]):
        return 1 if float(moved[2]) > float(moved[1]) else -1
    up, down = bool(RAISE.search(text)), bool(LOWER.search(text))
    return 0 if up == down else 1 if up else -1


def directions(question: str, line: str) -> int:
    """+1 where the line opens on the direction the question asks ("Increasing the threshold ..." for "bump it from
    0.5 to 0.8"), -1 where on the other ("Lowering the threshold improves recall" for "what does raising the
    decision threshold do?": MiniLM reads the two as near the same), 0 where either says none."""
    return direction(question) * direction(" ".join(line.split()[:6]))


def numbers_said(question: str, line: str) -> int:
    """+1 where the line holds a number the question gives ("Low Temperature (e.g., 0.2)" for "set the temperature
    to 0.2"), -1 where it holds only others ("High Temperature (e.g., 1.0)"), 0 where either gives none."""
    asked = {float(n) for n in NUMBER.findall(question)}
    held = {float(n) for n in NUMBER.findall(line)}
    if not asked or not held:
        return 0
    return 1 if asked & held else -1

