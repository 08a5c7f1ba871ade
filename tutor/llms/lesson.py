"""The offline lesson: the notes quoted in their own order, taught with the companion's explanation.

A lesson has: an overview (the notes' own defining sentence for the topic and the companion's intuition),
the key ideas step by step (the notes, quoted and cited), a worked example, the demo when one fits,
misconceptions, where the notes need care, and what to read next. Everything from the companion is
labelled as the tutor's explanation of the section it cites; everything quoted is the notes' words.
"""

from __future__ import annotations

import itertools
import re

from tutor.crew.outputs import Citation, DemoRef, Lesson
from tutor.knowledge.chunking import TERM_LINE, title
from tutor.knowledge.companion import Companion, Entry, names_in
from tutor.llms.compose import (
    CONTRAST,
    clip_lines,
    content_words,
    focus,
    lines_of,
    mentions,
    notes_only,
    plain,
    unique_citations,
)
from tutor.llms.keyideas import PassageLibrary, Plan, plan
from tutor.llms.protocol import Retrieved

COMPANION_NOTE = "*The tutor's explanation (not the notes' words), of {where}:*"


def pick_entries(topic: str, passages: list[Retrieved], companion: Companion) -> list[Entry]:
    """The companion entries that teach the topic, best first: named in the topic, else the ones the
    search found closest in meaning, else the first entry of the section the notes answer with."""
    named = companion.match(topic)
    if named:
        return named
    found: list[Entry] = []
    for p in sorted((p for p in passages if p.kind == "companion"), key=lambda p: -p.similarity):
        entry = companion.for_passage(p.source, p.section, p.subsection)
        if entry is not None and all(entry is not f for f in found):
            found.append(entry)
    if found:
        return found
    notes = notes_only(passages)
    for p in focus(topic, notes, limit=3) if notes else []:
        entries = companion.for_section(p.source, p.section)
        if entries:
            return entries[:1]
    return []


def _rank(term: str, primary: list[str], aliases: list[str]) -> int | None:
    """0 when a term is the topic or the idea teaching it (by name, bare form or abbreviation: "IoU" for
    "Intersection over Union (IoU)"), 1 when it is one of the idea's aliases ("Precision" for "Precision and
    recall"), 2 when it is a kind of the topic ("Self-Attention" for "attention"); None otherwise."""
    inner = re.findall(r"\((.*?)\)", term)
    forms = [f for f in (term, re.sub(r"\s*\(.*?\)\s*", " ", term).strip(), *inner) if f]

    def same(names: list[str]) -> bool:
        return any(names_in(f, n) and names_in(n, f) for f in forms for n in names)

    if same(primary):
        return 0
    if same(aliases):
        return 1
    if any(names_in(term, n) or names_in(n, term.replace("-", " ")) for n in primary + aliases):
        return 2
    return None


def defining_lines(topic: str, entry: Entry | None, passages: list[Retrieved]) -> list[tuple[str, Retrieved]]:
    """The notes' own lines that define the topic: a `Term:` line, or the first line under a `###` heading,
    whose term is the topic (see `_rank`); up to three lines of one section when the term is the topic or an
    alias of its idea (precision and recall are defined in two lines), one when it is a kind of the topic."""
    primary = [n for n in (topic, entry.idea if entry else "") if n.strip()]
    # an alias counts when the topic names it ("precision" in "precision and recall") or it is an
    # abbreviation ("nms"); an overview's other aliases name its parts ("multi-head attention")
    aliases = [a for a in (entry.aliases if entry else []) if len(a) <= 5 or any(names_in(a, n) for n in primary)]
    found: list[tuple[int, int, int, str, Retrieved]] = []
    seen: set[str] = set()
    order = 0
    for p in passages:
        body = [l for l in lines_of(p.text) if l != p.subsection]
        for heading, deepest in ((p.subsection, 2), ("" if p.subsection else title(p.section), 1)):
            # a heading that names the topic ("Intersection over Union (IoU)", "Impact of Non-Maximum
            # Suppression (NMS) Threshold"; a `##` one by name or abbreviation only): its first lines
            # define it, up to the first lead-in ("Solutions:")
            rank = _rank(heading, primary, aliases) if heading and body else None
            if rank == 2 and not any(heading.lower().startswith(n.lower().rstrip("s")) for n in primary + aliases):
                continue  # "RAG Approach" is about RAG; "Multi-Head Attention" is a kind of attention
            if rank is not None and rank <= deepest and heading.lower() not in seen:
                lines = list(itertools.takewhile(lambda l: not l.rstrip().endswith(":"), body))[:3]
                found.extend((rank, len(heading), order + i, plain(l), p) for i, l in enumerate(lines))
                seen.add(heading.lower())
                break
        for i, line in enumerate(body):
            order += 1
            m = TERM_LINE.match(line)
            if not m:
                continue
            term = (m["bold"] or m["plain"]).strip()
            if term.lower() in seen:
                continue
            rank = _rank(term, primary, aliases)
            if rank is None or (rank == 2 and entry is not None):  # "L1/L2 Regularization" is not regularization
                continue
            text = plain(line)
            if text.rstrip().endswith(":") and i + 1 < len(body):  # "**LSTM (...)**:" and its first sub-bullet
                text = f"{text} {plain(body[i + 1])}"
            seen.add(term.lower())
            found.append((rank, len(term), order, text, p))
    if not found:
        return []
    if entry is not None:  # the section the companion says teaches the idea, when it defines it at all
        home = [f for f in found if (f[4].source, f[4].section) == (entry.notes, entry.explains)]
        found = home or found
    best = min(f[0] for f in found)
    first = min((f for f in found if f[0] == best), key=lambda f: (f[1] if best == 2 else 0, f[2]))
    # one section's lines: both halves of "precision and recall"; a kind of the topic ("Self-Attention") alone
    same = [f for f in found if f[0] == best and (f[4].source, f[4].section) == (first[4].source, first[4].section)]
    chosen = [first] if best == 2 else sorted(same, key=lambda f: f[2])[:3]
    return [(line, p) for *_, line, p in chosen]


def not_covered_lesson(topic: str, passages: list[Retrieved]) -> Lesson:
    nearest = unique_citations(notes_only(passages)[:3])
    listing = "\n".join(f"- {c.section} ({c.source})" for c in nearest) or "- (the index is empty)"
    markdown = (
        f"# {topic}\n\n"
        f"The course notes do not cover **{topic}**, so this tutor will not teach it from memory.\n\n"
        f"The nearest sections the notes do cover:\n\n{listing}\n\n"
        "Try `tutor study` with one of these, or add your own notes with `tutor index PATH`."
    )
    return Lesson(topic=topic, markdown=markdown, citations=nearest, covered=False)


def _where(entry: Entry) -> str:
    return f"[{entry.notes} § {entry.explains}]"


def grazing_lesson(topic: str, found: Plan) -> Lesson:
    """A topic the notes mention but do not teach: what they say of it, and where to read instead."""
    said = "\n".join(f"> {line} {p.cite}  " for line, p in found.mentions)
    nearest = unique_citations(found.nearest)
    listing = "\n".join(f"- **{title(c.section)}** ({c.source} § {c.section})" for c in nearest)
    markdown = (
        f"# {topic}\n\n"
        f"The course notes only mention **{topic}** in passing; they do not teach it, so this lesson is short "
        f"and the tutor adds nothing from memory. What the notes say:\n\n{said}\n\n"
        f"The nearest sections the notes do teach:\n\n{listing}\n\n"
        "Try `tutor study` with one of these, or add your own notes with `tutor index PATH`."
    )
    cited = unique_citations(p for _, p in found.mentions)
    return Lesson(topic=topic, markdown=markdown, citations=cited + [c for c in nearest if c not in cited],
                  covered=False)


def compose_lesson(
    topic: str,
    passages: list[Retrieved],
    demo: DemoRef | None = None,
    read_next: list[Citation] | None = None,
    companion: Companion | None = None,
    found: Plan | None = None,
) -> Lesson:
    """A lesson on the key ideas that teach the topic (tutor.llms.keyideas), taught with the companion."""
    found = found or plan(topic, PassageLibrary(passages), companion)
    if not found.taught:
        return grazing_lesson(topic, found) if found.mentions else not_covered_lesson(topic, passages)
    entries = found.entries
    if not entries and companion:  # the companion's entries on the topic's own sections, closest first
        entries = [e for e in pick_entries(topic, passages, companion) if (e.notes, e.explains) in found.own]
    entry = entries[0] if entries else None
    chosen = ordered = found.steps

    heading = topic if entry is None or names_in(entry.idea, topic) else f"{topic} ({entry.idea})"  # "bn"
    parts = [f"# {heading}", _overview(topic, entry, chosen, ordered)]

    steps = ["## Key ideas, step by step"]
    for i, p in enumerate(ordered, start=1):
        body = clip_lines([l for l in lines_of(p.text) if l != p.subsection], 700)
        quoted = "\n".join(f"   > {l}" for l in body)
        steps.append(f"{i}. **{title(p.subsection or p.section)}** {p.cite}\n{quoted}")
    parts.append("\n\n".join(steps))

    parts.extend(_example(entry, ordered, demo))
    if demo:
        rows = "\n".join(f"| {k} | {_fmt(v)} |" for k, v in list(demo.metrics.items())[:10])
        figure = f"\n\nFigure: `{demo.figure}`" if demo.figure else ""
        parts.append(
            f"## Demo: {demo.title or demo.name}\n\n{demo.summary}\n\n| metric | value |\n|---|---|\n{rows}{figure}"
        )
    parts.extend(_misconceptions(entries, ordered))
    errata = [(e, x) for e in entries[:3] for x in e.errata]
    if errata:
        block = ["## Where the notes need care"]
        for e, x in errata:
            block.append(f'- The notes say "{x.notes_say}" {_where(e)}. {x.correction}')
        parts.append("\n".join(block))
    if read_next:
        parts.append("## Read next\n\n" + "\n".join(f"- **{title(c.section)}** ({c.source} § {c.section})" for c in read_next))

    citations = unique_citations(ordered)
    for e in entries[:3]:
        c = Citation(source=e.notes, section=e.explains, kind="companion")
        if c not in citations:
            citations.append(c)
    return Lesson(topic=topic, markdown="\n\n".join(parts), citations=citations, demo=demo, read_next=read_next or [])


def _overview(topic: str, entry: Entry | None, chosen: list[Retrieved], ordered: list[Retrieved]) -> str:
    ranked = sorted(chosen, key=lambda p: (not any(mentions(p.heading, w) for w in content_words(topic)), -p.similarity))
    if entry:
        home = [p for p in chosen if (p.source, p.section) == (entry.notes, entry.explains)]
        ranked = home + [p for p in ranked if p not in home]
    defining = defining_lines(topic, entry, ranked)
    if not defining and entry is None:  # with an entry, its intuition leads: never another concept's bullet
        defining = next(
            ([(plain(l), p)] for p in ranked for l in lines_of(p.text)
             if len(plain(l)) > 30 and not l.rstrip().endswith(":")),
            [(plain(lines_of(chosen[0].text)[0]), chosen[0])],
        )
    quotes = "\n".join(f"> {line} {p.cite}  " for line, p in defining)
    sections = ", ".join(dict.fromkeys(title(p.subsection or p.section) for p in ordered))
    block = ["## Overview", quotes] if quotes else ["## Overview"]
    if entry:
        block.append(f"**In plain words** {COMPANION_NOTE.format(where=_where(entry))} {entry.intuition.strip()}")
    block.append(f"The notes build this up in {len(ordered)} steps: {sections}." if len(ordered) > 1 else
                 f"The notes teach this in one step: {sections}.")
    return "\n\n".join(block)


def _example(entry: Entry | None, ordered: list[Retrieved], demo: DemoRef | None) -> list[str]:
    examples = [
        (plain(l), p) for p in ordered for l in lines_of(p.text) if re.search(r"\bexample\b|e\.g\.", l, re.I)
    ]
    if not (entry or examples or demo):
        return []
    block = ["## Worked example"]
    if entry:
        block.append(f"{COMPANION_NOTE.format(where=_where(entry))} {entry.example.strip()}")
    if examples:
        block.append("From the notes:\n" + "\n".join(f"- {line} {p.cite}" for line, p in examples[:3]))
    if demo:
        block.append(f"Run it yourself: `tutor demo run {demo.name}` (shown below).")
    return ["\n\n".join(block)]


def _misconceptions(entries: list[Entry], ordered: list[Retrieved]) -> list[str]:
    if entries:
        block = ["## Common misconceptions"]
        shown = 0
        for e in entries[:2]:
            for m in e.misconceptions:
                if shown == 3:
                    break
                block.append(f"- **Not so:** \"{m.wrong.strip()}\" {m.right.strip()} *({e.label})*")
                shown += 1
        return ["\n".join(block)]
    contrasts = [
        (plain(l), p) for p in ordered for l in lines_of(p.text)
        if l != p.subsection and CONTRAST.search(l) and len(plain(l)) > 25
    ]
    if not contrasts:
        return []
    block = ["## Common misconceptions", "The notes draw these distinctions; mixing them up is the usual mistake:"]
    block.extend(f"- {line} {p.cite}" for line, p in contrasts[:3])
    return ["\n".join(block)]


def _fmt(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, list):
        shown = ", ".join(_fmt(v) for v in value[:6])
        return f"[{shown}{', ...' if len(value) > 6 else ''}]"
    return str(value)
