"""The prerequisite map: it matches the notes, rejects a broken map in one line, and orders what to learn."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from tutor.errors import UsageError
from tutor.learning.prerequisites import adaptive_sections, load_prerequisites, prerequisites_path, unmet_prerequisites
from tutor.learning.store import LearnerStore, SectionRef

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)
KNOWLEDGE = Path(__file__).resolve().parents[1] / "knowledge"


def _headings() -> set[tuple[str, str]]:
    found = set()
    for path in KNOWLEDGE.glob("*.md"):
        in_fence = False
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.lstrip().startswith("```"):
                in_fence = not in_fence
            match = re.match(r"^##\s+(.+?)\s*#*\s*$", line)
            if match and not in_fence:
                found.add((path.name, match.group(1)))
    return found


def test_the_shipped_map_loads_and_names_only_real_sections():
    assert prerequisites_path() == KNOWLEDGE / "prerequisites.yaml"
    pmap = load_prerequisites()
    headings = _headings()
    named = [(s.source, s.section) for c in pmap.concepts.values() for s in c.sections]
    missing = [s for s in named if s not in headings]
    assert not missing, f"sections in prerequisites.yaml that the notes do not have: {missing}"
    unmapped = sorted(headings - set(named))
    assert not unmapped, f"sections of the notes no concept in prerequisites.yaml teaches: {unmapped}"
    for wanted in ("mlp", "backpropagation", "cnn", "transfer_learning", "object_detection", "embeddings",
                   "rnn_lstm", "seq2seq", "attention", "transformers", "llms", "rag", "agents", "big_data"):
        assert wanted in pmap.concepts


def test_order_puts_each_concept_after_what_it_requires():
    pmap = load_prerequisites()
    order = pmap.order()
    assert sorted(order) == sorted(pmap.concepts)
    position = {cid: i for i, cid in enumerate(order)}
    for cid, concept in pmap.concepts.items():
        assert all(position[r] < position[cid] for r in concept.requires)


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "prerequisites.yaml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("concepts:\n  a: {title: A, requires: [ghost]}\n", "requires unknown concept(s): ghost"),
        ("concepts:\n  a: {title: A, requires: [b]}\n  b: {title: B, requires: [c]}\n  c: {title: C, requires: [a]}\n",
         "cycle: a -> b -> c -> a"),
        ("concepts:\n  a: {title: A, requires: [a]}\n", "cycle: a -> a"),
        ("concepts:\n  Bad-Id: {title: A}\n", "lower_snake_case"),
        ("concepts:\n  a: {requires: []}\n", "title"),
        ("concepts: [oops\n", "not valid YAML (line"),
    ],
)
def test_a_broken_map_is_one_clear_error(tmp_path, text, expected):
    path = _write(tmp_path, text)
    with pytest.raises(UsageError) as failure:
        load_prerequisites(path)
    message = str(failure.value)
    assert expected in message and str(path) in message and "\n" not in message


def test_topics_find_their_concepts():
    pmap = load_prerequisites()
    assert pmap.concepts_for_topic("Transformers") == ["transformers"]
    assert pmap.concepts_for_topic("how does an LSTM remember?") == ["rnn_lstm"]
    assert pmap.concepts_for_topic("Faster R-CNN") == ["object_detection"]  # not plain CNNs
    assert pmap.concepts_for_topic("CNNs") == ["cnn"]
    assert pmap.concepts_for_topic("quantum gravity") == []


def test_a_new_learner_lacks_the_whole_chain_most_basic_first():
    pmap = load_prerequisites()
    with LearnerStore.open() as store:
        unmet = unmet_prerequisites("transformers", store, now=T0)
    ids = [u.concept for u in unmet]
    assert set(ids) == set(pmap.ancestors(["transformers"]))
    assert {"attention", "seq2seq", "rnn_lstm", "embeddings", "mlp"} <= set(ids)
    assert "transformers" not in ids
    assert ids.index("mlp") < ids.index("embeddings") < ids.index("rnn_lstm") < ids.index("seq2seq")
    assert all(u.reason == "never studied" for u in unmet)


def test_studied_prerequisites_are_met_and_weak_ones_are_named():
    pmap = load_prerequisites()
    mlp = pmap.concepts["mlp"].sections[0]
    backprop = pmap.concepts["backpropagation"].sections[0]
    with LearnerStore.open() as store:
        store.record_lesson("mlp", [mlp], now=T0)
        store.record_answer(None, "What does backprop compute?", "no idea", "gradients", 0.2, "", backprop.source,
                            backprop.section, now=T0)
        store.record_answer(None, "Why the chain rule?", "hmm", "composition", 0.4, "", backprop.source,
                            backprop.section, now=T0)
        unmet = {u.concept: u for u in unmet_prerequisites([("03-cnns.md", "2. Convolutional Operation Concepts")],
                                                           store, now=T0)}
    assert "mlp" not in unmet  # studied in a lesson
    assert unmet["backpropagation"].reason == "weak"
    assert unmet["backpropagation"].mastery == pytest.approx(0.3)
    assert "cnn" not in unmet  # the target itself is not its own prerequisite


def test_adaptive_order_is_due_then_weak_then_studied_then_new_and_ready():
    pmap = load_prerequisites()
    section = {cid: pmap.concepts[cid].sections[0] for cid in ("mlp", "backpropagation", "evaluation_metrics",
                                                                "big_data", "text_representation")}
    with LearnerStore.open() as store:
        first = adaptive_sections(store, now=T0)
        roots = {(s.source, s.section) for cid, c in pmap.concepts.items() if not c.requires for s in c.sections}
        assert {(a.source, a.section) for a in first} == roots
        assert all(a.reason == "new" for a in first)

        mlp = section["mlp"]
        store.record_answer(None, "What is an MLP?", "a net", "layers", 0.95, "", mlp.source, mlp.section, now=T0)
        bd = section["big_data"]
        store.record_answer(None, "The 5 V's?", "volume", "five", 0.1, "", bd.source, bd.section, now=T0)
        tr = section["text_representation"]
        store.record_lesson("tokens", [SectionRef(source=tr.source, section=tr.section)], now=T0)

        ranked = adaptive_sections(store, now=T0 + timedelta(days=1))
    reasons = [(a.section, a.reason) for a in ranked]
    assert reasons[0] == (bd.section, "due")  # missed yesterday: due today
    assert ranked[0].due == 1 and ranked[0].mastery == pytest.approx(0.1)
    assert (tr.section, "studied") in reasons
    # mastering mlp opens what builds on it alone
    assert (section["backpropagation"].section, "new") in reasons
    assert (section["evaluation_metrics"].section, "new") in reasons
    cnn = pmap.concepts["cnn"].sections[0].section  # needs backpropagation too: not yet
    assert cnn not in [a.section for a in ranked]
    order = ["due", "weak", "studied", "new", "refresh"]
    ranks = [order.index(a.reason) for a in ranked]
    assert ranks == sorted(ranks)
    assert ranked[-1].reason == "refresh" and ranked[-1].section == mlp.section
    with LearnerStore.open() as store:
        assert len(adaptive_sections(store, now=T0, limit=2)) == 2
