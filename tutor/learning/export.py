"""Take the learner's record elsewhere: review cards as an Anki deck, answers or cards as CSV.

Anki: one note per review card (question, reference answer, section, source). The note type has a
fixed id and each learner's deck an id made from the learner's name, and each note's guid is made
from the learner and the question, so importing a newer export into Anki updates the notes in
place instead of duplicating them. Every file is written next to its destination and renamed into
place, so an interrupted export never leaves half a file.
"""

from __future__ import annotations

import csv
import hashlib
import html
import os
import re
import secrets
import sqlite3
import tempfile
import time
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Literal

from pydantic import BaseModel

from tutor.errors import UsageError
from tutor.learning.store import LearnerStore, module_title

ANKI_MODEL_ID = 1_736_204_251  # never change: Anki knows tutor's note type by it
ANKI_MODEL_NAME = "tutor question"
ANSWER_COLUMNS = ["time", "quiz_id", "module", "source", "section", "question", "answer", "reference", "score",
                  "verdict", "self_rated"]
CARD_COLUMNS = ["card_id", "question_key", "module", "source", "section", "question", "reference", "due", "state",
                "reviews", "last_score", "last_review"]


class Exported(BaseModel):
    path: str
    kind: str  # anki, answers or cards
    rows: int  # notes in the deck, or rows in the CSV


def anki_deck_id(learner: str) -> int:
    """A learner's deck id: stable across exports, in the range genanki recommends."""
    digest = int(hashlib.sha1(f"tutor deck:{learner}".encode()).hexdigest()[:8], 16)
    return (1 << 30) + digest % (1 << 30)


def check_output(path: Path, suffixes: tuple[str, ...] = ()) -> Path:
    """A file path we may write: not a folder, in a folder that exists, with an expected suffix."""
    if path.is_dir():
        raise UsageError(f"{path} is a folder: give a file name")
    if suffixes and path.suffix.lower() not in suffixes:
        raise UsageError(f"{path} should end in {' or '.join(suffixes)}")
    if not path.parent.is_dir():
        raise UsageError(f"the folder {path.parent} does not exist")
    if path.exists() and not os.access(path, os.W_OK):
        raise UsageError(f"{path} is not writable")
    return path


@contextmanager
def replacing(path: Path) -> Iterator[Path]:
    """A temporary path beside `path`, renamed onto it when the block succeeds and removed otherwise."""
    temp = path.parent / f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.part"
    try:
        temp.open("xb").close()  # created as any new file is, under the user's umask
    except OSError as e:
        raise UsageError(f"cannot write in {path.parent}: {e.strerror or e}") from e
    try:
        yield temp
        os.replace(temp, path)
    except OSError as e:
        raise UsageError(f"cannot write {path}: {e.strerror or e}") from e
    finally:
        temp.unlink(missing_ok=True)


def _field(text: str) -> str:
    """Anki fields are HTML: escape the text, keep its line breaks."""
    return html.escape(text).replace("\n", "<br>")


def export_anki(store: LearnerStore, path: Path) -> Exported:
    """Write the learner's review cards as an Anki package (.apkg): a zip holding `collection.anki2`."""
    import genanki

    check_output(path, (".apkg",))
    model = genanki.Model(
        ANKI_MODEL_ID,
        ANKI_MODEL_NAME,
        fields=[{"name": "Question"}, {"name": "Answer"}, {"name": "Section"}, {"name": "Source"}],
        templates=[{
            "name": "Recall",
            "qfmt": "{{Question}}",
            "afmt": '{{FrontSide}}<hr id="answer">{{Answer}}<br><br><small>{{Section}} ({{Source}})</small>',
        }],
    )
    deck = genanki.Deck(anki_deck_id(store.learner), f"tutor::{store.learner}")
    cards = store.cards()
    for card in cards:
        tag = re.sub(r"[^\w-]+", "_", module_title(card.source)).strip("_")[:60] or "tutor"
        deck.add_note(genanki.Note(
            model=model,
            fields=[_field(card.question), _field(card.reference), _field(card.section), _field(card.source)],
            guid=genanki.guid_for("tutor", store.learner, card.question_key),
            tags=["tutor", tag],
        ))
    package = genanki.Package(deck)
    with replacing(path) as temp, tempfile.TemporaryDirectory(prefix="tutor-anki-") as work:
        # genanki's own write_to_file leaves its collection file behind in /tmp: build it here instead
        collection = Path(work) / "collection.anki2"
        con = sqlite3.connect(collection)
        try:
            now = time.time()
            package.write_to_db(con.cursor(), now, iter(range(int(now * 1000), 1 << 62)))
            con.commit()
        finally:
            con.close()
        with zipfile.ZipFile(temp, "w", compression=zipfile.ZIP_DEFLATED) as out:
            out.write(collection, "collection.anki2")
            out.writestr("media", "{}")
    return Exported(path=str(path), kind="anki", rows=len(cards))


def export_csv(store: LearnerStore, path: Path, kind: Literal["answers", "cards"] = "answers") -> Exported:
    """Write every graded answer (or every review card) as CSV with a header row."""
    if kind not in ("answers", "cards"):
        raise UsageError(f"a CSV export holds answers or cards, not '{kind}'")
    check_output(path)
    rows: list[list[object]]
    if kind == "answers":
        header = ANSWER_COLUMNS
        rows = [
            [a.time.isoformat(), a.quiz_id if a.quiz_id is not None else "", module_title(a.source), a.source,
             a.section, a.question, a.answer, a.reference, f"{a.score:.4g}", a.verdict, "true" if a.self_rated else "false"]
            for a in store.answers()
        ]
    else:
        header = CARD_COLUMNS
        rows = [
            [c.id, c.question_key, module_title(c.source), c.source, c.section, c.question, c.reference,
             c.due.isoformat(), c.state, c.reviews, f"{c.last_score:.4g}", c.last_review.isoformat()]
            for c in store.cards()
        ]
    with replacing(path) as temp, temp.open("w", newline="", encoding="utf-8") as f:
        out = csv.writer(f)
        out.writerow(header)
        out.writerows(rows)
    return Exported(path=str(path), kind=kind, rows=len(rows))
