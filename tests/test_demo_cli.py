"""`tutor demo list` and `tutor demo run` as a learner types them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from tutor.demos import BUILTIN_DEMOS


def test_demo_list_json_names_every_demo_with_its_sections(tutor):
    ran = tutor("demo", "list", "--json")
    assert ran.exit_code == 0, ran.output
    rows = json.loads(ran.stdout)
    assert [r["name"] for r in rows] == list(BUILTIN_DEMOS)
    conv = next(r for r in rows if r["name"] == "convolution")
    assert conv["title"] and {"source": "03-cnns.md", "section": "2. Convolutional Operation Concepts"} in conv["sections"]
    assert set(conv) == {"name", "title", "sections"}


def test_demo_list_human_view(tutor):
    ran = tutor("demo", "list")
    assert ran.exit_code == 0
    assert "word2vec" in ran.stdout and "tutor demo run NAME" in ran.stdout


def test_demo_run_convolution_json_with_params(tutor, tmp_path):
    ran = tutor("demo", "run", "convolution", "--param", "stride=2", "--param", "padding=0", "--device", "cpu",
                "--out", str(tmp_path / "figs"), "--json")
    assert ran.exit_code == 0, ran.output
    result = json.loads(ran.stdout)
    assert set(result) == {"name", "device", "seconds", "metrics", "summary", "figure"}
    assert result["name"] == "convolution" and result["device"] == "cpu"
    assert result["metrics"]["output_shape"] == [1, 3, 15, 15]  # floor((32 + 0 - 3) / 2) + 1
    assert Path(result["figure"]) == tmp_path / "figs" / "convolution.png" and Path(result["figure"]).exists()
    assert "15x15" in result["summary"]


def test_demo_run_human_view_has_title_metrics_summary_and_figure(tutor, tutor_home):
    ran = tutor("demo", "run", "temperature", "-p", "samples=5")
    assert ran.exit_code == 0, ran.output
    out = ran.stdout
    assert "Softmax temperature and sampling" in out
    assert "by_temperature" in out.replace(" ", "_") and "entropy_bits" in out
    assert "the entropy rises" in out
    assert f"figure: {tutor_home / 'demos' / 'temperature.png'}" in " ".join(out.split())  # TUTOR_HOME/demos by default
    assert (tutor_home / "demos" / "temperature.png").exists()


@pytest.mark.parametrize(("args", "message"), [
    (["demo", "run", "convolution", "-p", "stride=-1"], "error: stride must be between 1 and 8, got -1"),
    (["demo", "run", "convolution", "-p", "stride=fast"], "error: stride takes a whole number, got 'fast'"),
    (["demo", "run", "convolution", "-p", "colour=red"], "error: convolution has no parameter 'colour'"),
    (["demo", "run", "convolution", "-p", "stride"], "error: --param takes key=value, got 'stride'"),
    (["demo", "run", "convolution", "--device", "tpu"], "error: --device takes auto, cpu or cuda, got 'tpu'"),
    (["demo", "run", "nonexistent"], "error: unknown demo 'nonexistent'"),
    (["demo", "run", "attention", "-p", "d_model=30", "-p", "n_heads=4"], "error: attention: d_model 30 is not a multiple"),
])
def test_bad_input_is_one_line_and_exit_2(tutor, args, message):
    ran = tutor(*args)
    assert ran.exit_code == 2
    assert ran.stderr.strip().startswith(message)
    assert len(ran.stderr.strip().splitlines()) == 1
    assert "Traceback" not in ran.output and ran.stdout == ""


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a GPU")
def test_cuda_without_a_gpu_is_a_usage_error(tutor):
    ran = tutor("demo", "run", "temperature", "--device", "cuda")
    assert ran.exit_code == 2
    assert ran.stderr.strip() == ("error: --device cuda was asked for but no CUDA GPU is available "
                                  "(use --device cpu or auto)")


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_cuda_runs_when_there_is_a_gpu(tutor):
    ran = tutor("demo", "run", "attention", "--device", "cuda", "--json")
    assert ran.exit_code == 0, ran.output
    assert json.loads(ran.stdout)["device"] == "cuda"


def test_tutor_device_setting_is_the_default(tutor):
    ran = tutor("demo", "run", "temperature", "--json", env={"TUTOR_DEVICE": "cpu"})
    assert json.loads(ran.stdout)["device"] == "cpu"


def test_demo_without_a_subcommand_shows_help(tutor):
    ran = tutor("demo")
    assert "list" in ran.output and "run" in ran.output
