"""`tutor serve` measured: page timings next to the CLI doing the same work, memory after 100 requests,
and eight learners answering quizzes at once without losing an answer.

    python -m benchmarks.web [--out benchmarks/out/web.json]

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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)
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
