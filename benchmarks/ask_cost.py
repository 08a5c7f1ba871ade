"""What one new `tutor ask` / `/ask` costs offline, in one warm process: the search and the answer composer.

    python -m benchmarks.ask_cost

A class asking new questions at once is CPU-bound (RESULTS, "A class at once"): eight new questions on two
cores take about four times one, so the p95 of a burst follows what one new answer costs. This measures that cost:
12 questions none asked before in the process (after two warm-up questions), each timed; a fresh home with the shipped embeddings. Run it in turns with the same script on an older checkout
(`git worktree add`) for a before / after ratio on the same machine.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import time
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from benchmarks.common import in_process_settings, new_root  # noqa: E402

WARM = ["what is dropout?", "why do we use pooling?"]
QUESTIONS = [
    "why do we need positional encoding?", "what is batch normalization for?", "how does an lstm remember things?",
    "what does a data lake store?", "why is relu used instead of sigmoid?", "what is non-maximum suppression?",
    "how does beam search work?", "what is the difference between stemming and lemmatization?",
    "what is transfer learning?", "how does attention weigh words?", "what is a vector database for?",
    "why does gradient descent need a learning rate?",
]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.parse_args(argv)
    root = new_root()
    try:
        in_process_settings(root)
        from tutor.llms import direct

        for q in WARM:
            direct.answer(q, direct.search_as_the_agent(q, direct.ANSWER_PASSAGES))
        seconds = []
        for q in QUESTIONS:
            started = time.perf_counter()
            direct.answer(q, direct.search_as_the_agent(q, direct.ANSWER_PASSAGES))
            seconds.append(time.perf_counter() - started)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    print(json.dumps({"questions": len(seconds), "median_s": round(statistics.median(seconds), 3),
                      "mean_s": round(statistics.mean(seconds), 3), "max_s": round(max(seconds), 3)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
