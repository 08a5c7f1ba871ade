"""How the offline tutor teaches: `tutor ask` on learner questions, the parts of ten lessons, the level mix
of quizzes, and the cold start of `tutor ask`.

    python -m benchmarks.teaching [--quick] [--no-cli]

1. benchmarks/ask_set.jsonl (learner questions in their own words, written without reading the answering code
   or the companion): the answer contains the fact asked (any of its `facts` phrases), cites the section that
   answers it, and both; per kind of question.
2. `tutor study` on ten topics: which parts each lesson has (an overview from the topic's own concept: every
   notes line it quotes names the topic or comes from the section that teaches it; a worked example,
   misconceptions, at least three check questions above remember).
3. 100 quiz items from five seeds (`--n 20 --level mixed`): the level mix, and the share of MCQs whose wrong
   options are all siblings from the question's own section.
4. Cold offline `tutor ask` against a bare `python -c "import torch, chromadb"`, fresh processes in turns.
5. The first `tutor study` on a fresh home and on a warm one, against the same baseline (benchmarks/first_run.py).
6. benchmarks/teaching_topics.jsonl: lessons whose overview and every key idea cite an allowed section (a topic the
   notes do not teach: a short lesson naming the nearest sections); benchmarks/followups.jsonl: two-turn chats, the
   second answer states the fact and repeats none of the first's lines; and, in part 1, the fact in the answer's
   first sentence. `--only-answers` runs these three alone.
Results go to benchmarks/out/teaching.json; Markdown tables are printed.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import sys
from collections import Counter, defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
ASK_SET = REPO / "benchmarks" / "ask_set.jsonl"
OUT = REPO / "benchmarks" / "out" / "teaching.json"
TOPICS_SET = REPO / "benchmarks" / "teaching_topics.jsonl"
FOLLOWUPS = REPO / "benchmarks" / "followups.jsonl"
TOPICS = ["precision and recall", "dropout", "transformers", "attention", "IoU", "batch normalization",
          "word embeddings", "data lake", "transfer learning", "retrieval augmented generation"]


def ask_report(options, path: Path = ASK_SET) -> dict:
    from tutor.learning.conversation import ask

    rows = [json.loads(line) for line in Path(path).read_text().splitlines() if line.strip()]
    per_kind: dict[str, list[tuple[bool, bool]]] = defaultdict(list)
    misses = []
    for row in rows:
        answer = ask(row["question"], options)
        text = answer.answer.lower()
        fact = any(f.lower() in text for f in row["facts"])
        lead = answer.answer.strip().split("\n", 1)[0].lower()  # the sentence that answers, first
        first = any(f.lower() in lead for f in row["facts"])
        cited = any((c.source, c.section) == (row["source"], row["section"]) for c in answer.citations)
        per_kind[row["kind"]].append((fact, cited, first))
        if not (fact and cited and first):
            misses.append({"question": row["question"], "fact": fact, "cited": cited, "first": first,
                           "cited_sections": [c.section for c in answer.citations][:3]})
    every = [x for v in per_kind.values() for x in v]

    def shares(xs: list[tuple[bool, bool, bool]]) -> dict:
        return {"n": len(xs), "fact": round(sum(f for f, _, _ in xs) / len(xs), 3),
                "cited": round(sum(c for _, c, _ in xs) / len(xs), 3),
                "both": round(sum(f and c for f, c, _ in xs) / len(xs), 3),
                "first_sentence": round(sum(x for _, _, x in xs) / len(xs), 3)}

    return {"all": shares(every), "per_kind": {k: shares(v) for k, v in sorted(per_kind.items())}, "misses": misses}


_CITE = re.compile(r"\[([^\[\]\u00a7]+?) \u00a7 ([^\[\]]+?)\]")


def _cited(block: str) -> list[tuple[str, str]]:
    return [(src.strip(), sec.split(" > ")[0].strip()) for src, sec in _CITE.findall(block)]


def topics_report(options, path: Path = TOPICS_SET) -> dict:
    """benchmarks/teaching_topics.jsonl: a topic the notes teach gets a lesson whose overview and every key idea
    cite one of its allowed `##` sections (a lesson without key ideas is empty); a topic of kind `grazing` (the
    notes only mention it, or not at all) gets a short lesson that says so and names the nearest sections,
    citing an allowed section where it has one (a lesson on its allowed sections passes too). `strict`: the
    first scoring, which asked a grazing topic with allowed sections for key ideas on them."""
    from tutor.learning.flows import study

    rows = [json.loads(line) for line in Path(path).read_text().splitlines() if line.strip()]
    per_kind: dict[str, list[bool]] = defaultdict(list)
    empty, misses, strict_ok = 0, [], []
    for row in rows:
        lesson = study(row["topic"], options, no_demo=True)
        md = lesson.markdown
        allowed = {(a["source"], a["section"]) for a in row["allowed"]}
        overview = md.split("## Overview", 1)[1].split("## Key ideas", 1)[0] if "## Overview" in md else ""
        keys = md.split("## Key ideas", 1)[1].split("\n## ", 1)[0] if "## Key ideas" in md else ""
        steps = [_cited(line)[:1] for line in keys.splitlines() if re.match(r"^\d+\. \*\*", line)]
        cites = _cited(overview) + [c for s in steps for c in s]
        taught = bool(steps) and bool(_cited(overview)) and all(c in allowed for c in cites)
        says_so = not lesson.covered and not steps and bool(lesson.citations)  # short, naming the nearest
        if row["kind"] in ("grazing", "outside"):  # the notes only mention it (or not at all): a short lesson saying so
            ok = says_so and (not allowed or any((c.source, c.section) in allowed for c in lesson.citations)) \
                or (bool(allowed) and taught)
            strict = taught if allowed else says_so
        else:
            ok = strict = taught
            empty += not steps
        strict_ok.append(strict)
        per_kind[row["kind"]].append(ok)
        if not ok:
            misses.append({"topic": row["topic"], "steps": [f"{s[0][0]} § {s[0][1]}" for s in steps if s],
                           "overview": sorted({f"{a} § {b}" for a, b in _cited(overview)})})
    every = [x for v in per_kind.values() for x in v]
    return {"n": len(every), "on_allowed_sections": round(sum(every) / len(every), 3), "empty_lessons": empty,
            "strict": round(sum(strict_ok) / len(strict_ok), 3),
            "per_kind": {k: {"n": len(v), "share": round(sum(v) / len(v), 3)} for k, v in sorted(per_kind.items())},
            "misses": misses}


def followups_report(options, path: Path = FOLLOWUPS) -> dict:
    """benchmarks/followups.jsonl (never tuned on): two turns of `tutor chat`; the second, elliptical, is
    answered about the first's topic: its answer states the fact (any / all of its keywords) and repeats none
    of the first answer's lines."""
    from tutor.learning.conversation import ChatSession
    from tutor.llms.answer import repeats

    rows = [json.loads(line) for line in Path(path).read_text().splitlines() if line.strip()]
    results, misses = [], []
    for row in rows:
        chat = ChatSession(options=options, store=None)
        chat.handle(row["first"])
        first = chat.said
        second = chat.handle(row["second"]).markdown.split("**Ask next:**", 1)[0].lower()
        said = chat.said
        anyk = any(k.lower() in second for k in row["keywords"])
        allk = all(k.lower() in second for k in row["keywords"])
        repeated = [line for line in said if repeats(line, first)]
        cited = f"{row['source']} \u00a7 {row['section']}".lower() in second
        results.append((anyk, allk, not repeated, cited))
        if not (anyk and not repeated):
            misses.append({"first": row["first"], "second": row["second"], "keywords": row["keywords"],
                           "answer": second[:300], "repeated": repeated[:2]})
    n = len(results)
    return {"n": n, "fact_any_keyword": round(sum(r[0] for r in results) / n, 3),
            "fact_all_keywords": round(sum(r[1] for r in results) / n, 3),
            "repeats_none": round(sum(r[2] for r in results) / n, 3),
            "right_section_cited": round(sum(r[3] for r in results) / n, 3), "misses": misses}


def lesson_report(options) -> list[dict]:
    from tutor.knowledge.companion import load_companion, names_in
    from tutor.learning.flows import study
    from tutor.settings import get_settings

    companion = load_companion(get_settings().knowledge_dir)
    rows = []
    for topic in TOPICS:
        lesson = study(topic, options, no_demo=True)
        md = lesson.markdown
        overview = md.split("## Overview", 1)[-1].split("## Key ideas", 1)[0]
        named = companion.match(topic)
        home = f"{named[0].notes} § {named[0].explains}" if named else ""
        names = [topic, *(named[0].names if named else [])]
        quotes = [line for line in overview.splitlines() if line.startswith("> ")]
        # every quoted line of the notes is about the topic: it names it, or it is its own section's
        own = all((home and home in q) or any(names_in(n, q.replace("-", " ")) for n in names) for q in quotes)
        rows.append({
            "topic": topic,
            "covered": lesson.covered,
            "overview_quotes": len(quotes),
            "overview_from_its_concept": bool(named) and own,
            "intuition": "In plain words" in overview,
            "worked_example": "## Worked example" in md,
            "misconceptions": "## Common misconceptions" in md and "Not so" in md,
            "check_questions_above_remember": sum(q.level != "remember" for q in lesson.check_questions),
        })
    return rows


def quiz_report(options) -> dict:
    from tutor.learning.flows import make_quiz
    from tutor.learning.quiz import read_notes
    from tutor.tools.notes import shared_retriever

    facts = read_notes([c for c in shared_retriever().lexical.chunks if c.kind == "notes"]).facts
    terms = defaultdict(set)
    for f in facts:
        terms[(f.source, f.section)].add(f.term)
        terms[(f.source, f.section)].add(f.definition)
        terms[(f.source, f.section)].update(f.members)
    items = [i for seed in range(1, 6) for i in make_quiz(None, 20, "mixed", seed, options, level="mixed")]
    levels = Counter(i.level for i in items)
    mcqs = [i for i in items if i.kind == "mcq"]
    sibling = sum(all(o in terms[(i.source, i.section)] for o in i.options if o != i.answer) for i in mcqs)
    return {"items": len(items), "levels": dict(levels),
            "above_remember": round(sum(v for k, v in levels.items() if k != "remember") / len(items), 3),
            "mcq": len(mcqs), "mcq_distractors_from_same_section": round(sibling / max(len(mcqs), 1), 3)}


def cli_timings(quick: bool) -> dict:
    from benchmarks.common import build_index, median, new_root, python_argv, time_in_turns, tutor_argv, tutor_env

    home = new_root()
    build_index(home)
    env = tutor_env(home)
    times = time_in_turns({"import torch, chromadb": (python_argv("import torch, chromadb"), env),
                           "tutor ask": (tutor_argv("ask", "why does dropout help against overfitting?", "--json"), env)},
                          repeats=3 if quick else 5)
    base, ours = median(times["import torch, chromadb"]), median(times["tutor ask"])
    return {"import torch, chromadb": base, "tutor ask": ours, "ratio": round(ours / base, 2), "runs": times}


def main(argv: list[str] | None = None) -> int:
    from benchmarks import first_run
    from benchmarks.common import in_process_settings, new_root

    from tutor.learning.flows import CrewOptions

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--quick", action="store_true", help="fewer timing rounds")
    parser.add_argument("--no-cli", action="store_true", help="skip the command-line timings")
    parser.add_argument("--only-answers", action="store_true",
                        help="only the topic lessons, ask and follow-ups (no quiz, ten-lesson parts or timings)")
    parser.add_argument("--ask", type=Path, default=ASK_SET, help="the ask set (JSONL), default ask_set.jsonl")
    parser.add_argument("--topics", type=Path, default=TOPICS_SET,
                        help="the topic set (JSONL), default teaching_topics.jsonl")
    parser.add_argument("--followups", type=Path, default=FOLLOWUPS,
                        help="the two-turn follow-up set (JSONL), default followups.jsonl")
    args = parser.parse_args(argv)

    in_process_settings(new_root())
    options = CrewOptions(model="offline")
    report = {"ask": ask_report(options, args.ask), "topics": topics_report(options, args.topics),
              "followups": followups_report(options, args.followups),
              "sets": {"ask": str(args.ask), "topics": str(args.topics), "followups": str(args.followups)}}
    if not args.only_answers:
        report.update(lessons=lesson_report(options), quiz=quiz_report(options))
    if not (args.no_cli or args.only_answers):
        report["cli"] = cli_timings(args.quick)
        speed_root = new_root()
        report["first_run"] = first_run.measure(speed_root, "transformers", 3 if args.quick else 5, before=False,
                                                say=lambda line: print(line, file=sys.stderr))
        shutil.rmtree(speed_root, ignore_errors=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=1) + "\n", encoding="utf-8")

    a = report["ask"]
    print("| questions | n | fact in the first sentence | fact in the answer | right section cited | both |\n"
          "|---|---:|---:|---:|---:|---:|")
    for kind, m in [("all", a["all"]), *a["per_kind"].items()]:
        print(f"| {kind} | {m['n']} | {m['first_sentence']:.3f} | {m['fact']:.3f} | {m['cited']:.3f} | {m['both']:.3f} |")
    t = report["topics"]
    print(f"\nTopic lessons (teaching_topics.jsonl): {t['n']}, overview and every key idea on an allowed section "
          f"(or, untaught, a short lesson naming the nearest): {t['on_allowed_sections']:.3f}; empty: {t['empty_lessons']}; "
          f"strict (a grazing topic with allowed sections needs key ideas on them): {t['strict']:.3f}")
    for kind, m in t["per_kind"].items():
        print(f"- {kind}: {m['share']:.3f} of {m['n']}")
    f = report["followups"]
    print(f"\nFollow-ups (followups.jsonl): {f['n']}; second answer states the fact: any keyword {f['fact_any_keyword']:.3f}, "
          f"all {f['fact_all_keywords']:.3f}; repeats none of the first answer's lines {f['repeats_none']:.3f}; "
          f"cites the fact's section {f['right_section_cited']:.3f}")
    if args.only_answers:
        args.out.write_text(json.dumps(report, indent=1) + "\n", encoding="utf-8")
        print(f"Wrote {args.out}")
        return 0
    print("\n| topic | overview from its concept | notes lines quoted | intuition | worked example | misconceptions "
          "| checks above remember |")
    print("|---|---|---:|---|---|---|---:|")
    for r in report["lessons"]:
        yes = {True: "yes", False: "no"}
        print(f"| {r['topic']} | {yes[r['overview_from_its_concept']]} | {r['overview_quotes']} | {yes[r['intuition']]} | "
              f"{yes[r['worked_example']]} | {yes[r['misconceptions']]} | {r['check_questions_above_remember']} |")
    q = report["quiz"]
    print(f"\nQuiz items (5 seeds x 20, --level mixed): {q['items']}, levels {q['levels']}, above remember "
          f"{q['above_remember']:.2f}; MCQs {q['mcq']}, distractors all from the same section {q['mcq_distractors_from_same_section']:.2f}")
    if "cli" in report:
        c = report["cli"]
        print(f"Cold `tutor ask`: {c['tutor ask']:.2f} s, {c['ratio']}x a bare `import torch, chromadb` "
              f"({c['import torch, chromadb']:.2f} s)")
    if "first_run" in report:
        print("\n" + first_run.markdown(report["first_run"]))
    print(f"Wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
