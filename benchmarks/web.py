"""`tutor serve` measured: page timings next to the CLI doing the same work, memory after 100 requests,
and eight learners answering quizzes at once without losing an answer.

    python -m benchmarks.web [--out benchmarks/out/web.json]
    python -m benchmarks.web --class 16     # a class at once, only (benchmarks/out/web-class.json)

1. One real `tutor serve` process (offline model, the real embedder, a fresh TUTOR_HOME). For `/`,
   `/search?q=...` and `/study?topic=...&demo=0`: time to first byte and to the full page (median of 5,
   after one warm-up), next to the same work from the command line (`tutor progress`, `tutor search`,
   `tutor study --no-demo`), which pays its start-up every time: the ratio says what a warm server saves.
   Then a lesson's check question answered in place (`POST /check` as the page's script sends it; median
   of 5 after a warm-up; target under 300 ms).
2. The server's peak resident memory (VmHWM) after 100 mixed requests.
3. Eight client processes at once, each its own learner session (cookie, CSRF token), each taking a
   five-question quiz over HTTP as a browser posts it; then the record's `PRAGMA integrity_check` and
   the exact number of answers recorded.

A class at once (`--class 16`, only this part): N learners at once on one server, half asking (`/ask`), half
searching (`/search`), each sending its next request as soon as the last one is answered (no time to read: the
worst case). First, alone: a single `/ask` (the median of 5 questions never asked before, one at a time, after one
warm-up question) and a single `/search`. Then three rounds of the class: *a lesson's questions* (each asker asks
6 of the same 12 questions in its own order, as a class on one lesson does), *every question new* (48 questions
none asked before: nothing the server kept can help) and *the same class again* (6 each of the 60 questions
already asked: what a server that has run a while sees, and whether its memory still grows). For each: `/ask` and
`/search` p50 and p95, `/ask` p95 over the single `/ask`, requests lost (an error, a timeout or a status other
than 200), and the server's resident memory (VmRSS) before and after. Targets (issue 25): `/ask` p95 within 3x a single `/ask`, none lost, memory flat.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from multiprocessing import Pool
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "benchmarks" / "out" / "web.json"
PAGES = {"/": ["progress"], "/search?q=positional+encoding": ["search", "positional encoding"],
         "/study?topic=dropout&demo=0": ["study", "dropout", "--no-demo"]}


def env_for(home: Path) -> dict[str, str]:
    env = dict(os.environ, TUTOR_HOME=str(home), TUTOR_EMBEDDER="minilm", CREWAI_DISABLE_TELEMETRY="true",
               OTEL_SDK_DISABLED="true", LITELLM_LOCAL_MODEL_COST_MAP="True")
    for key in ("TUTOR_MODEL", "TUTOR_BASE_URL", "OPENAI_API_KEY"):
        env.pop(key, None)
    return env


def start(home: Path) -> tuple[subprocess.Popen, str]:
    proc = subprocess.Popen([sys.executable, "-m", "tutor", "serve", "--port", "0"], env=env_for(home),
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    while True:
        line = proc.stdout.readline()
        if not line:
            raise SystemExit("tutor serve did not start")
        m = re.search(r"serving at (http://127\.0\.0\.1:\d+/)", line)
        if m:
            return proc, m.group(1).rstrip("/")


def fetch(url: str) -> tuple[float, float]:
    """(seconds to the first byte, seconds to the whole page)."""
    import httpx

    t0 = time.perf_counter()
    with httpx.stream("GET", url, timeout=300, follow_redirects=True) as r:  # a lesson redirects to its kept visit
        first = None
        for _ in r.iter_bytes():
            first = first or time.perf_counter() - t0
        return first or time.perf_counter() - t0, time.perf_counter() - t0


def check_in_place(base: str, runs: int = 5) -> float:
    """A lesson's check question answered in place, as the page's script posts it (only the result comes back):
    the median seconds of `runs`, after one warm-up."""
    import httpx

    with httpx.Client(base_url=base, timeout=300, follow_redirects=True) as c:
        c.get("/")
        token = c.cookies.get("tutor_csrf")
        page = c.get("/study?topic=dropout&demo=0")
        lesson = re.search(r'name="lesson" value="([^"]+)"', page.text).group(1)
        times = []
        for k in range(runs + 1):
            t0 = time.perf_counter()
            r = c.post("/check", data={"csrf": token, "lesson": lesson, "index": str(k % 3),
                                       "answer": "It switches off random neurons while training."},
                       headers={"X-Requested-With": "fetch"})
            r.raise_for_status()
            times.append(time.perf_counter() - t0)
        return statistics.median(times[1:])


def quiz_taker(args: tuple[str, int]) -> int:
    """One learner taking a five-question quiz over HTTP; the number of answers the server accepted."""
    import httpx

    base, seed = args
    with httpx.Client(base_url=base, timeout=300, follow_redirects=False) as c:
        c.get("/")
        token = c.cookies.get("tutor_csrf")
        r = c.post("/quiz", data={"csrf": token, "n": "5", "kind": "short", "seed": str(seed)})
        url = r.headers["location"]
        accepted = 0
        for at in range(5):
            page = c.get(url).text
            if "Score:" in page:
                break
            r = c.post(url, data={"csrf": token, "at": str(at), "answer": f"answer {seed}-{at} about the notes"})
            accepted += r.status_code == 303
        return accepted


def vm_hwm(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


ASK_SET = REPO / "benchmarks" / "ask_set.jsonl"
SEARCH_SET = REPO / "benchmarks" / "retrieval_questions.jsonl"
ROUNDS = 6  # requests per learner per round
ROUND_NAMES = ("a lesson's questions", "every question new", "the same class again")


def vm_rss(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _timed_get(client: object, path: str, params: dict[str, str]) -> tuple[float, bool]:
    """(seconds, answered with a 200) for one request; an error or a timeout is a lost request."""
    t0 = time.perf_counter()
    try:
        ok = client.get(path, params=params).status_code == 200  # type: ignore[attr-defined]
    except Exception:  # noqa: BLE001  (lost: counted, not raised)
        ok = False
    return time.perf_counter() - t0, ok


def _learner(base: str, path: str, queries: list[str], start: object, out: list) -> None:
    import httpx

    with httpx.Client(base_url=base, timeout=120) as c:
        start.wait()  # type: ignore[attr-defined]
        for q in queries:
            out.append((path, *_timed_get(c, path, {"q": q})))


def _pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def class_round(base: str, pid: int, ask_lists: list[list[str]], search_lists: list[list[str]]) -> dict:
    """One round of the class: every learner a thread of this process (their work is the server's, not ours)."""
    import threading

    start, results = threading.Barrier(len(ask_lists) + len(search_lists)), []
    rss_before = vm_rss(pid)
    threads = [threading.Thread(target=_learner, args=(base, "/ask", qs, start, results)) for qs in ask_lists]
    threads += [threading.Thread(target=_learner, args=(base, "/search", qs, start, results)) for qs in search_lists]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    seconds = time.perf_counter() - t0
    asks = [s for path, s, ok in results if path == "/ask" and ok]
    searches = [s for path, s, ok in results if path == "/search" and ok]
    sent = sum(len(x) for x in ask_lists + search_lists)
    return {"ask_p50_s": round(_pct(asks, 0.5), 3), "ask_p95_s": round(_pct(asks, 0.95), 3),
            "search_p50_s": round(_pct(searches, 0.5), 3), "search_p95_s": round(_pct(searches, 0.95), 3),
            "requests": sent, "lost": sent - len(asks) - len(searches),
            "distinct_questions": len({q for qs in ask_lists for q in qs}), "seconds": round(seconds, 1),
            "rss_mib_before": round(rss_before, 1), "rss_mib_after": round(vm_rss(pid), 1)}


def class_at_once(learners: int) -> dict:
    """The class measurement (see the module docstring); the report."""
    import random

    questions = [json.loads(line)["question"] for line in ASK_SET.read_text(encoding="utf-8").splitlines() if line.strip()]
    searches = [json.loads(line)["question"] for line in SEARCH_SET.read_text(encoding="utf-8").splitlines() if line.strip()]
    askers, searchers = learners - learners // 2, learners // 2
    rng = random.Random(25)
    rng.shuffle(questions)
    alone, lesson, fresh = questions[:6], questions[6:18], questions[18:]
    if len(fresh) < askers * ROUNDS:
        raise SystemExit(f"{ASK_SET.name} has too few questions for {askers} askers")
    report: dict = {"learners": learners, "askers": askers, "searchers": searchers, "cores": os.cpu_count()}
    with tempfile.TemporaryDirectory(prefix="tutor-web-class-") as root:
        proc, base = start(Path(root) / "home")
        try:
            fetch(base + "/ask?q=" + alone[0].replace(" ", "+"))  # warm: the index and the model load once
            fetch(base + "/search?q=dropout")
            report["single_ask_s"] = round(statistics.median(fetch(base + "/ask?q=" + q.replace(" ", "+"))[1]
                                                             for q in alone[1:]), 3)
            report["single_search_s"] = round(statistics.median(fetch(base + "/search?q=" + q.replace(" ", "+"))[1]
                                                                for q in searches[:5]), 3)
            print(f"alone: /ask {report['single_ask_s']:.2f} s, /search {report['single_search_s'] * 1000:.0f} ms",
                  file=sys.stderr)
            search_lists = [[searches[(k * ROUNDS + j) % len(searches)] for j in range(ROUNDS)] for k in range(searchers)]
            rounds = {
                "a lesson's questions": [rng.sample(lesson, ROUNDS) for _ in range(askers)],
                "every question new": [fresh[k * ROUNDS:(k + 1) * ROUNDS] for k in range(askers)],
                "the same class again": [rng.sample(lesson + fresh[:askers * ROUNDS], ROUNDS) for _ in range(askers)],
            }
            for name, ask_lists in rounds.items():
                r = class_round(base, proc.pid, ask_lists, search_lists)
                r["ask_p95_over_single"] = round(r["ask_p95_s"] / report["single_ask_s"], 2)
                report[name] = r
                print(f"{name}: /ask p50 {r['ask_p50_s']:.2f} s p95 {r['ask_p95_s']:.2f} s "
                      f"({r['ask_p95_over_single']}x alone), /search p50 {r['search_p50_s'] * 1000:.0f} ms "
                      f"p95 {r['search_p95_s'] * 1000:.0f} ms, lost {r['lost']}/{r['requests']}, "
                      f"RSS {r['rss_mib_before']} -> {r['rss_mib_after']} MiB", file=sys.stderr)
        finally:
            proc.terminate()
            proc.wait(timeout=30)
    return report


def print_class(report: dict) -> None:
    print(f"{report['learners']} learners at once ({report['askers']} asking, {report['searchers']} searching, "
          f"{report['cores']} cores); alone: `/ask` {report['single_ask_s']:.2f} s, `/search` "
          f"{report['single_search_s'] * 1000:.0f} ms\n")
    print("| round | `/ask` p50 | `/ask` p95 | p95 / alone | `/search` p50 | `/search` p95 | lost | RSS before → after |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for name in ROUND_NAMES:
        r = report[name]
        print(f"| {name} ({r['distinct_questions']} distinct) | {r['ask_p50_s']:.2f} s | {r['ask_p95_s']:.2f} s | "
              f"{r['ask_p95_over_single']}x | {r['search_p50_s'] * 1000:.0f} ms | {r['search_p95_s'] * 1000:.0f} ms | "
              f"{r['lost']} of {r['requests']} | {r['rss_mib_before']:.0f} → {r['rss_mib_after']:.0f} MiB |")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--class", dest="learners", type=int, default=0, metavar="N",
                        help="only the class measurement: N learners at once, half asking, half searching")
    args = parser.parse_args(argv)
    if args.learners:
        if args.learners < 2:
            raise SystemExit("--class needs at least 2 learners (one asking, one searching)")
        report = class_at_once(args.learners)
        out = args.out if args.out != OUT else OUT.with_name("web-class.json")
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(report, indent=1) + "\n", encoding="utf-8")
        print_class(report)
        lost = sum(report[k]["lost"] for k in ROUND_NAMES)
        return 0 if lost == 0 else 1
    report: dict = {}
    with tempfile.TemporaryDirectory(prefix="tutor-web-bench-") as root:
        home = Path(root) / "home"
        proc, base = start(home)
        try:
            pages = {}
            for path, cli_args in PAGES.items():
                fetch(base + path)  # warm
                runs = [fetch(base + path) for _ in range(5)]
                cli = []
                for _ in range(3):
                    t0 = time.perf_counter()
                    subprocess.run([sys.executable, "-m", "tutor", *cli_args], env=env_for(home), capture_output=True, check=True)
                    cli.append(time.perf_counter() - t0)
                first, full, c = (statistics.median(x) for x in ([r[0] for r in runs], [r[1] for r in runs], cli))
                pages[path] = {"first_byte_s": round(first, 4), "full_page_s": round(full, 4), "cli_s": round(c, 3),
                               "cli_over_page": round(c / full, 1)}
                print(f"{path}: first byte {first * 1000:.0f} ms, page {full * 1000:.0f} ms; CLI {c:.2f} s", file=sys.stderr)
            report["pages"] = pages
            report["check_in_place_s"] = round(check_in_place(base), 4)
            print(f"a check question answered in place: {report['check_in_place_s'] * 1000:.0f} ms", file=sys.stderr)
            mix = ["/", "/search?q=dropout", "/progress", "/notes/07-transformers.md", "/ask?q=what+is+attention"]
            for k in range(100):
                fetch(base + mix[k % len(mix)])
            report["peak_rss_mib_after_100_requests"] = round(vm_hwm(proc.pid), 1)
            started = time.perf_counter()
            with Pool(8) as pool:
                accepted = pool.map(quiz_taker, [(base, 100 + k) for k in range(8)])
            report["concurrent"] = {"learners": 8, "answers_sent": 40, "accepted": sum(accepted),
                                    "seconds": round(time.perf_counter() - started, 1)}
        finally:
            proc.terminate()
            proc.wait(timeout=30)
        import sqlite3

        with sqlite3.connect(home / "learner.db") as con:
            report["concurrent"]["integrity_check"] = con.execute("PRAGMA integrity_check").fetchone()[0]
            report["concurrent"]["answers_recorded"] = con.execute("SELECT COUNT(*) FROM answers").fetchone()[0]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=1) + "\n", encoding="utf-8")
    print("| page | first byte | full page | same work from the CLI | CLI / page |\n|---|---:|---:|---:|---:|")
    for path, m in report["pages"].items():
        print(f"| `{path}` | {m['first_byte_s'] * 1000:.0f} ms | {m['full_page_s'] * 1000:.0f} ms | {m['cli_s']:.2f} s | {m['cli_over_page']}x |")
    print(f"| a check question answered in place (`POST /check`, fetch) | | {report['check_in_place_s'] * 1000:.0f} ms | | |")
    c = report["concurrent"]
    print(f"\nPeak memory of `tutor serve` after 100 requests: {report['peak_rss_mib_after_100_requests']} MiB. "
          f"Eight learners at once: {c['accepted']} of {c['answers_sent']} answers accepted, {c['answers_recorded']} recorded, "
          f"integrity_check {c['integrity_check']}, in {c['seconds']} s.")
    return 0 if c["integrity_check"] == "ok" and c["answers_recorded"] == c["answers_sent"] else 1


if __name__ == "__main__":
    sys.exit(main())
