"""Demo benchmark: every demo at its default settings, on CPU and (when there is one) on CUDA.

    python -m benchmarks.demos [--out benchmarks/out] [--repeat 1] [--devices cpu,cuda]

Each run draws its figure, as `tutor demo run` does, into a temporary folder. The time is the whole
`run_demo` call (training, evaluation and the figure), not the Python start-up or the torch import,
which `cold_cli_s` measures once: `tutor demo run temperature --json` in a fresh process. Writes
benchmarks/out/demos.json and prints a Markdown table of seconds per demo. Budget: 10 s per demo on
2 CPU cores.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from pydantic import BaseModel

REPO = Path(__file__).resolve().parent.parent
BUDGET_S = 10.0


class DemoTiming(BaseModel):
    name: str
    device: str
    seconds: list[float]  # one per repeat
    median_s: float
    within_budget: bool
    summary: str


class Report(BaseModel):
    machine: str
    cpu_count: int
    torch: str
    cuda: str | None
    cold_cli_s: float
    timings: list[DemoTiming]


def time_demo(name: str, device: str, repeat: int, out_dir: Path) -> DemoTiming:
    from tutor.demos import run_demo

    seconds, summary = [], ""
    for _ in range(repeat):
        start = time.perf_counter()
        result = run_demo(name, device=device, out_dir=out_dir)
        seconds.append(round(time.perf_counter() - start, 3))
        summary = result.summary
    median = statistics.median(seconds)
    return DemoTiming(name=name, device=device, seconds=seconds, median_s=median, within_budget=median <= BUDGET_S,
                      summary=summary)


def cold_cli(home: Path) -> float:
    env = {**os.environ, "TUTOR_HOME": str(home)}
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "tutor", "demo", "run", "temperature", "--json", "--device", "cpu"],
                   env=env, cwd=REPO, check=True, capture_output=True)
    return round(time.perf_counter() - start, 3)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "out")
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--devices", default="cpu,cuda", help="comma-separated; cuda is skipped without a GPU")
    args = parser.parse_args()

    import torch

    from tutor.demos import list_demos

    devices = [d for d in args.devices.split(",") if d != "cuda" or torch.cuda.is_available()]
    timings = []
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["TUTOR_HOME"] = str(Path(tmp) / "home")
        cold = cold_cli(Path(tmp) / "home")
        # The first demo to draw pays matplotlib's import; pay it before timing anything.
        time_demo("temperature", "cpu", 1, Path(tmp))
        for device in devices:
            for spec in list_demos():
                timing = time_demo(spec.name, device, args.repeat, Path(tmp) / device)
                timings.append(timing)
                print(f"{spec.name:<22} {device:<5} {timing.median_s:6.2f}s", file=sys.stderr, flush=True)
    report = Report(
        machine=platform.platform(),
        cpu_count=os.cpu_count() or 0,
        torch=torch.__version__,
        cuda=torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
        cold_cli_s=cold,
        timings=timings,
    )
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "demos.json").write_text(json.dumps(report.model_dump(), indent=2) + "\n")

    print(f"\n{report.cpu_count} CPU cores, torch {report.torch}, GPU: {report.cuda or 'none'}; "
          f"cold `tutor demo run temperature`: {report.cold_cli_s:.1f}s\n")
    print("| demo | " + " | ".join(f"{d} s" for d in devices) + " |")
    print("|---|" + "---:|" * len(devices))
    by_name: dict[str, dict[str, float]] = {}
    for t in timings:
        by_name.setdefault(t.name, {})[t.device] = t.median_s
    for name, row in by_name.items():
        print(f"| {name} | " + " | ".join(f"{row[d]:.2f}" for d in devices) + " |")
    slow = [f"{t.name} ({t.device})" for t in timings if not t.within_budget]
    print(f"\nover the {BUDGET_S:.0f}s budget: {', '.join(slow) if slow else 'none'}")


if __name__ == "__main__":
    main()
