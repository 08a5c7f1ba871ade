"""benchmarks/results.json -> benchmarks/RESULTS.md: the same figures, as tables, with the targets checked.

    python -m benchmarks.report [--results benchmarks/results.json] [--out benchmarks/RESULTS.md]

A "before" column appears where benchmarks/baseline.json (a run from before the start-up work) holds
the same figure.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results.json"
BASELINE = HERE / "baseline.json"
MARKDOWN = HERE / "RESULTS.md"


def _get(data: dict[str, Any] | None, *path: str) -> Any:
    for key in path:
        if not isinstance(data, dict) or key not in data:
            return None
        data = data[key]
    return data


def _f(value: Any, digits: int = 2, unit: str = "") -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.{digits}f}{unit}"
    return f"{value}{unit}"


def targets(results: dict[str, Any]) -> list[tuple[str, str, str, bool | None]]:
    """(target, measured, how it is read, holds) for each of issue 8's targets."""
    rows: list[tuple[str, str, str, bool | None]] = []
    cmd = _get(results, "sections", "startup", "commands") or {}
    if cmd:
        ratio = _get(cmd, "tutor --help", "ratio")
        rows.append(("`tutor --help` <= 2x `import typer, rich`", f"{_f(ratio)}x "
                     f"({_f(_get(cmd, 'tutor --help', 'median_s'), 3)} s vs "
                     f"{_f(_get(cmd, 'import typer, rich', 'median_s'), 3)} s)",
                     "median over median, in turns", ratio is not None and ratio <= 2.0))
        ratio = _get(cmd, "tutor search", "ratio")
        rows.append(("cold `tutor search` <= 1.5x `import torch, chromadb`", f"{_f(ratio)}x "
                     f"({_f(_get(cmd, 'tutor search', 'median_s'))} s vs "
                     f"{_f(_get(cmd, 'import torch, chromadb', 'median_s'))} s)",
                     "median over median, in turns", ratio is not None and ratio <= 1.5))
        study = _get(cmd, "tutor study --no-demo", "median_s")
        rows.append(("cold offline `tutor study --no-demo` <= 6 s", f"{_f(study)} s",
                     "median of fresh processes", study is not None and study <= 6.0))
    scales = _get(results, "sections", "scale", "scales") or {}
    if scales:
        largest = max(scales.values(), key=lambda s: s["factor"])
        p50 = largest["search_p50_ms"]
        fresh = largest.get("fresh_search_p50_ms")
        rows.append(("search p50 <= 15 ms at 100x the notes", f"{_f(p50)} ms at {largest['factor']}x "
                     f"({largest['chunks']} passages)" + (f"; {_f(fresh)} ms from a fresh process" if fresh else ""),
                     "hybrid, k=5, in-process, 200 queries",
                     p50 <= 15.0 if largest["factor"] >= 100 else None))
    memory = _get(results, "sections", "memory") or {}
    if memory:
        rate = memory.get("batch_answers_per_s")
        inner = _get(memory, "batch_in_process", "answers_per_s")
        rows.append(("offline batch grading >= 50 answers/s", f"{_f(rate, 1)} answers/s end to end "
                     f"(fresh `tutor grade --batch`, 500 answers); {_f(inner, 1)}/s in-process",
                     "end to end, start-up included", rate is not None and rate >= 50))
    rows += _grading_targets(_get(results, "sections", "grading") or {})
    return rows


def _grading_targets(g: dict[str, Any]) -> list[tuple[str, str, str, bool | None]]:
    """The grader's targets: attacks rejected, and the held-out obvious cases graded against the notes."""
    rows: list[tuple[str, str, str, bool | None]] = []
    attacks = _get(g, "adversarial", "attacks", "OfflineGrader", "all attacks") or {}
    if "decided_below_0.4" in attacks:
        below = attacks["below_0.4"]
        rows.append(("attacks from the SciEntsBank test references rejected >= 90%",
                     f"{_f(below, 3)} scored < 0.4; {_f(attacks['decided_below_0.4'], 3)} decided and < 0.4; "
                     f"{_f(attacks['below_0.4_or_unsure'], 3)} < 0.4 or unsure ({attacks['n']} attacks)",
                     "score < 0.4 (an unsure grade by its best-guess score)", below >= 0.9))
    h = g.get("heldout") or {}
    o = h.get("overall") or {}
    if o:
        pct = lambda v: "-" if v is None else f"{100 * v:.1f}%"  # noqa: E731
        where = f"held-out obvious cases against the notes ({o['n']} answers)"
        for key, target, measured in (
            ("harsh", "expected correct graded < 0.4 (decided) <= 2%", f"{pct(o['harsh'])} ({o['harsh_count']})"),
            ("lenient", "expected incorrect scored >= 0.7 <= 5%",
             f"{pct(o['lenient'])} all grades ({o['lenient_count']}); {pct(o['lenient_confident'])} decided only "
             f"({o['lenient_confident_count']})"),
            ("confident_right", "decided verdicts right >= 95%", f"{pct(o['confident_right'])} of {o['decided']}"),
            ("unsure", "graded unsure <= 20%", f"{pct(o['unsure'])} ({o['unsure_count']})"),
        ):
            rows.append((target, measured, where, (h.get("holds") or {}).get(key)))
    return rows


def _machine(results: dict[str, Any]) -> list[str]:
    m = results.get("machine", {})
    libs = ", ".join(f"{k} {v}" for k, v in (m.get("libraries") or {}).items() if v)
    return [
        f"- **Date**: {m.get('date')} (commit `{results.get('commit')}`), command `{results.get('command')}`",
        f"- **Machine**: {m.get('cpu_model')}, {m.get('cpu_count')} CPUs ({m.get('cpus_usable')} usable), "
        f"{m.get('ram_gib')} GiB RAM, {m.get('os')}; GPU: {m.get('cuda') or 'none'}",
        f"- **Python** {m.get('python')}, **torch** {m.get('torch')} ({m.get('torch_threads')} threads); {libs}",
        f"- **Load average** at start {m.get('load_average_at_start')}, at end {results.get('load_average_at_end')} "
        "(the machine is shared: figures are medians of runs taken in turns with their baselines)",
        f"- Wall time of the whole suite: {_f(results.get('seconds'), 0)} s; sections run: "
        f"{', '.join(results.get('sections', {}))}",
    ]


def _retrieval(r: dict[str, Any]) -> list[str]:
    lines = [
        f"{r['questions']} paraphrased questions (`benchmarks/retrieval_questions.jsonl`); a hit is any passage of "
        "the question's `##` section; scored by `benchmarks/retrieval.py`'s `score` for all systems. "
        f"tutor: {r.get('passages')} passages, all-MiniLM-L6-v2, BM25 tokenizer `{r.get('bm25_tokenizer')}`. "
        "CrewAI: `crewai.knowledge.Knowledge` + `TextFileKnowledgeSource` over the same files, the same model "
        "(provider `sentence-transformer`, the bundled directory), Chroma under the run's temp dir; its windows are "
        "mapped back to the section holding most of their lines (strict) or to every section they touch (lenient).",
        "",
        "| system | recall@1 | recall@3 | MRR | query p50 |",
        "|---|---:|---:|---:|---:|",
    ]
    for mode, s in r["modes"].items():
        lines.append(f"| tutor {mode} | {s['recall_at_1']:.3f} | {s['recall_at_3']:.3f} | {s['mrr']:.3f} | "
                     f"{s['query_p50_ms']:.1f} ms |")
    for config, c in (r.get("crewai") or {}).items():
        size, overlap = config.split("/")
        for kind in ("strict", "lenient"):
            s = c[kind]
            lines.append(f"| CrewAI knowledge, {size}-char windows ({c['windows']}), {kind} | {s['recall_at_1']:.3f} | "
                         f"{s['recall_at_3']:.3f} | {s['mrr']:.3f} | {c['query_p50_ms']:.1f} ms |")
    notes = [f"{config} windows: {c['answered_at_default_threshold']}/{c['questions']} questions get any passage at "
             f"CrewAI's default score_threshold 0.6, embedding took {c['build_s']} s"
             for config, c in (r.get("crewai") or {}).items()]
    if notes:
        lines += ["", "CrewAI, as an agent would use it: " + "; ".join(notes) + "."]
    return lines


def _grading(g: dict[str, Any]) -> list[str]:
    """The grading section: benchmarks/grading.py's, adversarial.py's and heldout.py's own tables; a results.json
    from before the grader's unsure verdict is rendered as it was."""
    if "digiklausur" not in g:
        return _grading_before_unsure(g)
    from benchmarks import adversarial, grading, heldout

    lines = [
        "From `benchmarks/grading.py`, `benchmarks/adversarial.py` and `benchmarks/heldout.py` run as they are "
        "(`python -m benchmarks --only grading`). SciEntsBank 3-way (`shared/datasets/scientsbank`): each cosine "
        "baseline has two cut-offs fitted on train; the pair model was trained on train only "
        "(`python -m tutor.grading.train`); DigiKlausur is validation only (nothing fitted or tuned on it).",
        "",
        *grading.markdown(g),
    ]
    if g.get("adversarial"):
        lines += ["", *adversarial.markdown(g["adversarial"])]
    for key in ("heldout", "heldout_tuning"):
        if g.get(key):
            lines += ["", *heldout.markdown(g[key], Path(g[key].get("file", key)).name, shown=20)]
    return lines


def _grading_before_unsure(g: dict[str, Any]) -> list[str]:
    lines = [
        "SciEntsBank 3-way (`shared/datasets/scientsbank`), from `benchmarks/grading.py` run as it is: each "
        "cosine baseline has two cut-offs tuned on train; the previous grader is read from git; the pair model "
        "and the stacker were fitted on train only (the stacker by a script since removed).",
        "",
        "| system | test | accuracy | macro-F1 | Spearman | correct scored >= 0.7 |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for system, by_split in g["scientsbank"].items():
        for split, m in by_split.items():
            if isinstance(m, dict) and "accuracy" in m:
                at = f"{m['correct_at_0.7']:.3f}" if "correct_at_0.7" in m else "-"
                lines.append(f"| {system} | {split} | {m['accuracy']:.3f} | {m['macro_f1']:.3f} | {m['spearman']:.3f} | {at} |")
    t = g.get("throughput_minilm_cpu") or {}
    speeds = [f"{key.replace('answers_per_second', '').strip('_').replace('_', ' ') or 'all'}: {value} answers/s"
              for key, value in t.items() if key.startswith("answers_per_second")]
    if speeds:
        lines += ["", f"Grader throughput in-process as `benchmarks/grading.py` measures it ({t.get('answers')} answers): "
                  + "; ".join(speeds) + "."]
    adv = g.get("adversarial")
    if adv:
        ours, before = adv["attacks"]["OfflineGrader"], adv["attacks"]["previous grader"]
        lines += ["", "Attacks built from the SciEntsBank test references only (`benchmarks/adversarial.py`): the share "
                  "scored below 0.4 (a careful teacher gives them no credit); filler: correct answers already scored "
                  ">= 0.7, padded with a filler sentence, the share that keeps >= 0.7.", "",
                  "| kind | n | OfflineGrader | previous grader |", "|---|---:|---:|---:|"]
        for kind, m in ours.items():
            if kind != "filler":
                lines.append(f"| {kind} | {m['n']} | {m['below_0.4']:.3f} | {before[kind]['below_0.4']:.3f} |")
        lines.append(f"| filler (keeps >= 0.7) | {ours['filler']['n']} | {ours['filler']['keep_0.7']} | "
                     f"{before['filler']['keep_0.7']} (of {before['filler']['n']}) |")
        lines += ["", "Deep-learning set (`benchmarks/dl_grading_set.jsonl`), graded against the key points the grader "
                  "picks from the notes (no reference), and against its reference:", "",
                  "| graded against | questions | good >= 0.7 | good > partial > wrong | wrong-but-fluent < 0.4 | "
                  "sibling concept < 0.4 | sibling named | injections that raised a score | key point recited >= 0.7 |",
                  "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
        for mode, m in adv["dl_set"].items():
            recited = m.get("recited_point_at_0.7")
            said = f"{recited:.3f} (of {m['recited_points']})" if recited is not None else "-"
            lines.append(f"| {mode} | {m['questions']} | {m['good_at_0.7']:.3f} | {m['good_gt_partial_gt_wrong']:.3f} | "
                         f"{m['wrong_below_0.4']:.3f} | {m['sibling_below_0.4']:.3f} | {m['sibling_named']} | "
                         f"{m['injections_that_raised_a_score']} | {said} |")
        c = adv.get("cli")
        if c:
            lines += ["", f"From the command line (fresh processes in turns): a cold `tutor grade ... --reference` "
                      f"{c['tutor grade --reference']:.2f} s, {c['ratio']}x a bare `import torch, chromadb` "
                      f"({c['import torch, chromadb']:.2f} s); `tutor grade --batch` on {c['batch_answers']} answers "
                      f"{c['batch_seconds_median']} s = {c['batch_answers_per_second']} answers/s end to end."]
    return lines


def _startup(s: dict[str, Any], before: dict[str, Any] | None) -> list[str]:
    lines = [
        f"Fresh processes, index already built, offline model; each command run in turns with its baseline after a "
        f"discarded warm-up round. Query `{s['query']}`, topic `{s['topic']}`.",
        "",
        "| command | median | min | baseline | ratio (medians) | before: median / ratio |",
        "|---|---:|---:|---|---:|---:|",
    ]
    for name, row in s["commands"].items():
        b = _get(before, "commands", name)
        was = f"{_f(b['median_s'])} s / {_f(b.get('ratio'))}x" if b else "-"
        if not row.get("baseline"):
            was = f"{_f(b['median_s'])} s" if b else "-"
        lines.append(f"| `{name}` | {row['median_s']:.3f} s | {row['min_s']:.3f} s | {row.get('baseline') or '-'} | "
                     f"{_f(row.get('ratio'))}{'x' if row.get('ratio') else ''} | {was} |")
    w = s["warm_search"]
    bw = _get(before, "warm_search")
    lines += ["", f"Warm hybrid search in one process ({w['queries']} distinct queries, k=5): p50 {w['p50_ms']} ms, "
              f"p90 {w['p90_ms']} ms, p99 {w['p99_ms']} ms" + (
                  f" (before: p50 {bw['p50_ms']} ms, p99 {bw['p99_ms']} ms)" if bw else "") + "."]
    return lines


def _scale(s: dict[str, Any], before: dict[str, Any] | None) -> list[str]:
    lines = [
        "The notes grown with generated variants (headings renamed, sentences and list items shuffled per copy); "
        "each scale built into an empty index in one process with the model loaded, then 200 distinct hybrid queries.",
        "",
        "| notes | passages | build | chunks/s | BM25 build | search p50 / p99 | fresh process: p50 / p99 | index on disk "
        "| before: chunks/s, p50 |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name, x in s["scales"].items():
        b = _get(before, "scales", name)
        was = f"{b['chunks_per_s']}, {b['search_p50_ms']} ms" if b else "-"
        fresh = (f"{x['fresh_search_p50_ms']:.1f} / {x['fresh_search_p99_ms']:.1f} ms"
                 if x.get("fresh_search_p50_ms") is not None else "-")
        lines.append(f"| {name} | {x['chunks']} | {x['build_s']:.1f} s | {x['chunks_per_s']:.1f} | {x['bm25_build_s']:.2f} s | "
                     f"{x['search_p50_ms']:.1f} / {x['search_p99_ms']:.1f} ms | {fresh} | {x['index_mib']} MiB | {was} |")
    lines += ["", "\"search\" runs in the process that built the index (the model loaded, torch imported: as the "
              "before figures were taken); \"fresh process\" opens the built index in a new process and searches "
              "the same queries, so the query is embedded on the numpy path, as a `tutor` command that did not "
              "index anything embeds it."]
    g = s.get("growth_exponent") or {}
    lines += ["", "Growth (cost ~ passages^b from the smallest to the largest scale): "
              f"build b = {_f(g.get('build_s'))}, BM25 build b = {_f(g.get('bm25_build_s'))}, "
              f"search p50 b = {_f(g.get('search_p50_ms'))}"
              + (f" (fresh process b = {_f(g.get('fresh_search_p50_ms'))})" if g.get("fresh_search_p50_ms") is not None
                 else "") + "."]
    e = s.get("embedder")
    if e:
        lines += [
            "",
            f"Embedder on the {e['texts']} passages of the notes, against the bare SentenceTransformer `encode` "
            "(same model, same texts, the floor):",
            "",
            "| embedder | passages/s | one query | load |",
            "|---|---:|---:|---:|",
            f"| tutor's MiniLMEmbedder | {e['ours_texts_per_s']} | {e['ours_query_ms']} ms"
            + (f" (numpy path: {e['ours_numpy_query_ms']} ms)" if e.get("ours_numpy_query_ms") else "")
            + f" | {e['ours_load_s']} s |",
            f"| bare SentenceTransformer.encode | {e['bare_texts_per_s']} | {e['bare_query_ms']} ms | "
            f"{e['bare_import_and_load_s']} s (import + load) |",
            "",
            f"Throughput ratio to the floor: {e['ratio_to_floor']}x; largest difference between the two embedders' "
            f"vectors: {e['max_abs_diff']:.2e}"
            + (f" (numpy path: {e['numpy_max_abs_diff']:.2e})" if e.get("numpy_max_abs_diff") is not None else "")
            + ".",
        ]
    return lines


def _memory(m: dict[str, Any], before: dict[str, Any] | None) -> list[str]:
    lines = [
        f"Peak resident set size of one fresh process ({m['method']}), index built; the batch is "
        f"{m['batch_answers']} SciEntsBank test answers (question, student answer, reference).",
        "",
        "| command | peak RSS | wall | before: peak RSS, wall |",
        "|---|---:|---:|---:|",
    ]
    for name, row in m["commands"].items():
        b = _get(before, "commands", name)
        was = f"{b['peak_rss_mib']:.0f} MiB, {b['wall_s']:.2f} s" if b else "-"
        lines.append(f"| `{name}` | {row['peak_rss_mib']:.0f} MiB | {row['wall_s']:.2f} s | {was} |")
    inner = m.get("batch_in_process") or {}
    lines += ["", f"Batch grading: {m['batch_answers_per_s']} answers/s end to end; in one process with the model "
              f"loaded: {inner.get('answers_per_s')} answers/s ({inner.get('answers')} answers in {inner.get('seconds')} s)."]
    return lines


def _demos(d: dict[str, Any]) -> list[str]:
    devices = sorted({t["device"] for t in d["timings"]}, key=lambda x: (x != "cpu", x))
    lines = [
        f"Each demo at its defaults via `benchmarks/demos.py` (training, evaluation and figure; torch already "
        f"imported), median of its repeats; cold `tutor demo run temperature`: {d['cold_cli_s']} s. "
        f"GPU: {d.get('cuda') or 'none on this machine'}.",
        "",
        "| demo | " + " | ".join(f"{x} s" for x in devices) + " |",
        "|---|" + "---:|" * len(devices),
    ]
    by_name: dict[str, dict[str, float]] = {}
    for t in d["timings"]:
        by_name.setdefault(t["name"], {})[t["device"]] = t["median_s"]
    for name, row in by_name.items():
        lines.append(f"| {name} | " + " | ".join(_f(row.get(x)) for x in devices) + " |")
    return lines


def markdown(results: dict[str, Any], baseline: dict[str, Any] | None = None) -> str:
    sections = results.get("sections", {})
    before = (baseline or {}).get("sections", {})
    out = [
        "# Benchmarks",
        "",
        "Written by `python -m benchmarks` (see `benchmarks/__main__.py`); the same figures are in "
        "`benchmarks/results.json`." + (f" \"Before\" columns: `benchmarks/baseline.json`, the same suite at commit "
                                         f"`{baseline.get('commit')}` before the start-up work." if baseline else ""),
        "",
        *_machine(results),
        "",
        "## Targets",
        "",
        "| target | measured | read as | holds |",
        "|---|---|---|---|",
    ]
    for target, measured, how, holds in targets(results):
        out.append(f"| {target} | {measured} | {how} | {'yes' if holds else 'no' if holds is False else 'n/a'} |")
    blocks = (
        ("Retrieval quality", "retrieval", lambda r: _retrieval(r)),
        ("Grading quality", "grading", lambda r: _grading(r)),
        ("Start-up and latency", "startup", lambda r: _startup(r, before.get("startup"))),
        ("Scale", "scale", lambda r: _scale(r, before.get("scale"))),
        ("Memory", "memory", lambda r: _memory(r, before.get("memory"))),
        ("Demos", "demos", lambda r: _demos(r)),
    )
    for title, key, render in blocks:
        if key in sections:
            out += ["", f"## {title}", "", *render(sections[key])]
    for key, error in (results.get("errors") or {}).items():
        out += ["", f"**{key} failed**: {error}"]
    return "\n".join(out) + "\n"


KEPT = "<!-- The sections below come from their own benchmarks (teaching, model_zoo, web); python -m benchmarks keeps them. -->"


def write(results: dict[str, Any], out: Path = MARKDOWN, baseline_path: Path = BASELINE) -> None:
    baseline = json.loads(baseline_path.read_text()) if baseline_path.exists() else None
    kept = ""
    if out.exists() and KEPT in out.read_text(encoding="utf-8"):
        kept = "\n" + KEPT + out.read_text(encoding="utf-8").split(KEPT, 1)[1]
    out.write_text(markdown(results, baseline) + kept, encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--results", type=Path, default=RESULTS)
    parser.add_argument("--out", type=Path, default=MARKDOWN)
    parser.add_argument("--baseline", type=Path, default=BASELINE)
    args = parser.parse_args(argv)
    write(json.loads(args.results.read_text()), args.out, args.baseline)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
