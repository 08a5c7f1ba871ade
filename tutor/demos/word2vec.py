"""Skip-gram word2vec trained on the course notes themselves; nearest neighbours of chosen words.

Skip-gram learns a vector per word by predicting the words around it; with negative sampling each
(word, context) pair is pulled together and a few random words are pushed away. Words used in
similar contexts end up with similar vectors, measured by cosine similarity.
"""

from __future__ import annotations

import re
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn as nn
import torch.nn.functional as F

from tutor.demos.base import DemoResult, Progress, new_figure, save_figure, seeded, tick

NAME = "word2vec"
TITLE = "Word2vec skip-gram on the course notes"
SECTIONS = [
    {"source": "06-nlp-foundations.md", "section": "2. Dense Vector Representation and Word Embeddings"},
    {"source": "05-llms-and-agents.md", "section": "1. Word Embeddings vs. Dimensionality Reduction Techniques"},
    {"source": "06-nlp-foundations.md", "section": "1. Tokenization, Token Normalization, and Vectorization in NLP"},
]
KEYWORDS = ["word2vec", "skip-gram", "skipgram", "cbow", "word embedding", "word embeddings", "embedding",
            "cosine similarity", "negative sampling", "dense vector", "semantic similarity"]
LIMITS = {"dim": (2, 128), "window": (1, 10), "negatives": (1, 20), "epochs": (1, 50), "min_count": (1, 50),
          "batch": (16, 8192), "lr": (1e-4, 1.0), "neighbours": (1, 20), "seed": (0, 2**31 - 1)}

# Function words: in a corpus of a few thousand words they would be every word's neighbour. (On a large
# corpus word2vec subsamples frequent words instead.)
STOP_WORDS = set(
    "a an the and or but if of to in on at by for with from as is are was were be been being it its this that "
    "these those which who whom what when where how why than then so such can could may might will would should "
    "do does did not no into over under between each other more most less their they them we our you your he she "
    "his her e g i e vs also via per using used use".split()
)

BUILT_IN_TEXT = """
Neural networks learn weights from labeled data. The loss measures the error of a prediction and gradient
descent lowers the loss. Backpropagation computes the gradient of the loss for every weight. A convolutional
network slides a kernel over an image; the kernel detects edges in the image. Pooling shrinks the feature map
of the image. A recurrent network reads a sequence one token at a time; an LSTM keeps a memory of the sequence.
Attention lets each token look at every other token in the sequence. A transformer stacks attention layers.
Word embeddings map each word to a dense vector; similar words get similar vectors. Training a network on
images needs a GPU; training a transformer on text needs a GPU too. The learning rate scales each gradient
step. A small learning rate makes training slow; a large learning rate makes the loss diverge.
"""


@dataclass
class Config:
    words: tuple[str, ...] = ("gradient", "attention", "image", "embeddings", "precision")  # words to find neighbours of
    dim: int = 32  # embedding width
    window: int = 3  # context words on each side of the centre word
    negatives: int = 5  # random words pushed away per (word, context) pair
    epochs: int = 15  # passes over all pairs
    min_count: int = 2  # rarer words are left out of the vocabulary
    batch: int = 512  # pairs per step (fewer on a tiny corpus, so an epoch still has about 20 steps)
    lr: float = 0.02  # Adam learning rate
    neighbours: int = 5  # nearest words listed per chosen word
    notes_dir: str = ""  # folder of .md notes to learn from; empty: the course notes (TUTOR_KNOWLEDGE_DIR)
    seed: int = 0  # makes sampling and weights repeatable


def tokenize(text: str) -> list[str]:
    """Lower-case words of letters (with inner hyphens), without Markdown, numbers or stop words."""
    text = re.sub(r"`[^`]*`|https?://\S+", " ", text.lower())
    return [w for w in re.findall(r"[a-z][a-z\-]*[a-z]|[a-z]", text) if w not in STOP_WORDS and len(w) > 1]


def read_corpus(notes_dir: Path) -> tuple[list[str], str]:
    """The tokens of every Markdown file in `notes_dir`, and where they came from (the built-in text when
    there is no note to read)."""
    files = sorted(notes_dir.glob("*.md")) if notes_dir.is_dir() else []
    if not files:
        return tokenize(BUILT_IN_TEXT), f"built-in text (no .md notes found in {notes_dir})"
    tokens = [t for f in files for t in tokenize(f.read_text(encoding="utf-8", errors="replace"))]
    return tokens, f"course notes: {len(files)} files in {notes_dir}"


def build_vocab(tokens: list[str], min_count: int) -> tuple[list[str], torch.Tensor]:
    """Words seen at least `min_count` times, most frequent first, and their counts (V,)."""
    counts = Counter(tokens)
    words = sorted((w for w, c in counts.items() if c >= min_count), key=lambda w: (-counts[w], w))
    return words, torch.tensor([counts[w] for w in words], dtype=torch.float)


def skipgram_pairs(ids: torch.Tensor, window: int) -> torch.Tensor:
    """(P, 2) pairs (centre, context) for every context word within `window` positions of each centre."""
    pairs = []
    for offset in range(1, window + 1):
        pairs.append(torch.stack([ids[:-offset], ids[offset:]], dim=1))  # context to the right
        pairs.append(torch.stack([ids[offset:], ids[:-offset]], dim=1))  # context to the left
    return torch.cat(pairs)


class SkipGram(nn.Module):
    """Two tables of word vectors: one for a word as the centre, one for it as context."""

    def __init__(self, vocab_size: int, dim: int):
        super().__init__()
        self.centre = nn.Embedding(vocab_size, dim)
        self.context = nn.Embedding(vocab_size, dim)
        nn.init.uniform_(self.centre.weight, -0.5 / dim, 0.5 / dim)
        nn.init.zeros_(self.context.weight)

    def forward(self, centre: torch.Tensor, context: torch.Tensor, negatives: torch.Tensor) -> torch.Tensor:
        """Negative-sampling loss for centre (B,), context (B,) and negatives (B, K)."""
        c = self.centre(centre)  # (B, D)
        pos = (c * self.context(context)).sum(-1)  # (B,)
        neg = torch.bmm(self.context(negatives), c[:, :, None]).squeeze(-1)  # (B, K)
        return -(F.logsigmoid(pos) + F.logsigmoid(-neg).sum(-1)).mean()


def train_skipgram(pairs: torch.Tensor, counts: torch.Tensor, config: Config, generator: torch.Generator,
                   device: str, progress: Progress | None = None) -> tuple[SkipGram, list[float]]:
    model = SkipGram(len(counts), config.dim).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=config.lr)
    noise = counts**0.75 / (counts**0.75).sum()  # (V,): Mikolov's smoothed unigram distribution
    # On a tiny corpus a full batch would mean a handful of steps per epoch, too few for the vectors to part.
    batch_size = max(16, min(config.batch, pairs.shape[0] // 20))
    losses = []
    for epoch in range(config.epochs):
        order = torch.randperm(pairs.shape[0], generator=generator)
        total = 0.0
        for start in range(0, pairs.shape[0], batch_size):
            batch = pairs[order[start : start + batch_size]]  # (B, 2)
            negatives = torch.multinomial(noise, batch.shape[0] * config.negatives, replacement=True,
                                          generator=generator).view(batch.shape[0], config.negatives)  # (B, K)
            batch, negatives = batch.to(device), negatives.to(device)
            loss = model(batch[:, 0], batch[:, 1], negatives)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            total += loss.item() * batch.shape[0]
        losses.append(total / pairs.shape[0])
        tick(progress, "training skip-gram", epoch + 1, config.epochs)
    return model, losses


@torch.no_grad()
def nearest(vectors: torch.Tensor, words: list[str], word: str, k: int) -> list[list]:
    """The k words with the highest cosine similarity to `word`, as [word, similarity] pairs."""
    unit = F.normalize(vectors, dim=1)  # (V, D)
    sims = unit @ unit[words.index(word)]  # (V,)
    sims[words.index(word)] = -2.0  # not itself
    best = sims.topk(min(k, len(words) - 1))
    return [[words[i], s] for s, i in zip(best.values.tolist(), best.indices.tolist())]


def run(config: Config, device: str = "cpu", progress: Progress | None = None, out_dir: Path | None = None) -> DemoResult:
    from tutor.settings import get_settings

    start = time.perf_counter()
    notes_dir = Path(config.notes_dir) if config.notes_dir else get_settings().knowledge_dir
    tokens, corpus = read_corpus(notes_dir)
    words, counts = build_vocab(tokens, config.min_count)
    if len(words) < 3:
        from tutor.errors import UsageError

        raise UsageError(f"only {len(words)} words occur {config.min_count}+ times in {corpus}: lower min_count")
    index = {w: i for i, w in enumerate(words)}
    ids = torch.tensor([index[t] for t in tokens if t in index])  # (N,) the corpus, rare words dropped
    pairs = skipgram_pairs(ids, config.window)  # (P, 2)
    with seeded(config.seed):
        generator = torch.Generator().manual_seed(config.seed)
        model, losses = train_skipgram(pairs, counts, config, generator, device, progress)
    vectors = model.centre.weight.detach().cpu()  # (V, D)
    chosen = [w for w in config.words if w in index]
    if not chosen:  # none of the asked-for words is in this corpus: show its most frequent ones instead
        chosen = words[:3]
    neighbours = {w: nearest(vectors, words, w, config.neighbours) for w in chosen}
    metrics = {
        "corpus": corpus,
        "tokens": len(tokens),
        "vocabulary": len(words),
        "training_pairs": int(pairs.shape[0]),
        "loss_first_epoch": losses[0],
        "loss_last_epoch": losses[-1],
        "most_frequent": words[:8],
        "missing_words": [w for w in config.words if w not in index],
        "neighbours": neighbours,
    }
    figure = draw(vectors, words, neighbours, metrics, out_dir) if out_dir is not None else None
    return DemoResult(name=NAME, title=TITLE, device=device, seconds=time.perf_counter() - start,
                      metrics=metrics, summary=summarize(metrics), figure=figure, sections=SECTIONS)


def summarize(m: dict) -> str:
    shown = list(m["neighbours"].items())[:2]
    near = "; ".join(f"'{w}' sits next to " + ", ".join(f"'{n}' ({s:.2f})" for n, s in pairs[:3]) for w, pairs in shown)
    missing = f" Not in the vocabulary: {', '.join(m['missing_words'])}." if m["missing_words"] else ""
    return (
        f"Trained on the {m['corpus']} ({m['tokens']:,} words, a vocabulary of {m['vocabulary']:,}), skip-gram's loss "
        f"fell from {m['loss_first_epoch']:.2f} to {m['loss_last_epoch']:.2f}. By cosine similarity {near}: words that "
        f"share contexts share directions, though a corpus this small gives rough neighbours.{missing}"
    )


def draw(vectors: torch.Tensor, words: list[str], neighbours: dict, m: dict, out_dir: Path) -> str | None:
    shown = list(dict.fromkeys([w for w in neighbours] + [n for pairs in neighbours.values() for n, _ in pairs]))
    points = vectors[[words.index(w) for w in shown]]  # (S, D)
    centred = points - points.mean(0)
    _, _, v = torch.linalg.svd(centred, full_matrices=False)
    xy = centred @ v[:2].T  # (S, 2): the first two principal components
    fig, axes = new_figure(1, 1, (8, 6))
    ax = axes[0, 0]
    for i, (w, group) in enumerate(neighbours.items()):
        members = [shown.index(w)] + [shown.index(n) for n, _ in group]
        ax.scatter(xy[members, 0], xy[members, 1], color=f"C{i}", s=[60] + [15] * len(group))
        for j in members:
            ax.annotate(shown[j], xy[j].tolist(), fontsize=9 if j == members[0] else 7, color=f"C{i}")
    ax.set_title("chosen words and their nearest neighbours (PCA of the vectors)")
    return save_figure(fig, out_dir, NAME)
